#include "tests/worker/train/train_harness.h"

#include <torch/torch.h>

#include <mutex>

#include "common/comm/local_communicator.h"
#include "common/data/synthetic.h"
#include "common/status.h"
#include "gtest/gtest.h"
#include "tests/testing/spawn_ranks.h"

namespace spindle::train::testing {

std::string MeshName(const Mesh& m) {
  return "DP" + std::to_string(m.dp) + "U" + std::to_string(m.ulysses) + "R" +
         std::to_string(m.ring) + "_" + layout::LayoutName(m.layout);
}

TrainerOptions TinyOptions() {
  TrainerOptions o;
  o.model.hidden_size = 64;
  o.model.intermediate_size = 176;
  o.model.num_hidden_layers = 2;
  o.model.num_attention_heads = 4;
  o.model.num_key_value_heads = 2;
  o.model.vocab_size = 256;
  o.seq_len = 256;
  o.global_batch_seqs = 2;
  o.micro_batch_seqs = 1;
  o.lr.lr = 1e-3;
  o.lr.warmup_steps = 3;
  o.lr.max_steps = 20;
  o.data = [](int64_t index, absl::Span<int64_t> out) {
    return data::CopySequence(7, index, static_cast<int64_t>(out.size()) - 1, 256, out);
  };
  return o;
}

RunResult Train(const TrainerOptions& options, int dp, int ulysses, int ring, int steps,
                const std::function<void(Trainer&)>& before,
                const std::function<void(Trainer&, int rank)>& after_step,
                const comm::Memory& memory) {
  const int world = dp * ulysses * ring;
  const layout::MeshDims mesh = *layout::MakeMesh(world, dp, ulysses, ring);
  auto fabric = comm::LocalFabric::Create(world, memory);
  RunResult result;
  std::mutex mu;
  spindle::testing::SpawnRanks(
      world,
      [&](int rank) {
        auto connect = [&](const std::vector<int>& ranks, const comm::CommOptions& opts) {
          return fabric->Connect(ranks, rank, opts);
        };
        auto groups = sp::BuildProcessGroups(mesh, rank, std::chrono::seconds(60), connect);
        ASSERT_TRUE(groups.ok()) << groups.status();
        auto grad = sp::BuildWorldGroup(mesh, rank, std::chrono::seconds(60), connect, "grad");
        ASSERT_TRUE(grad.ok()) << grad.status();
        auto trainer = Trainer::Create(options, *groups, std::move(*grad), nullptr);
        ASSERT_TRUE(trainer.ok()) << trainer.status();
        if (before) before(**trainer);
        for (int s = 0; s < steps; ++s) {
          auto stats = (*trainer)->Step();
          ASSERT_TRUE(stats.ok()) << stats.status();
          if (after_step) after_step(**trainer, rank);
          if (rank == 0) {
            result.losses.push_back(stats->loss);
            result.grad_norms.push_back(stats->grad_norm);
            result.attention_calls.push_back((*trainer)->attention().forward_calls());
          }
        }
        if (rank != 0) return;
        std::lock_guard<std::mutex> lock(mu);
        for (auto& item : (*trainer)->model()->named_parameters()) {
          result.weights[item.key()] = item.value().detach().to(at::kCPU, /*non_blocking=*/false,
                                                                /*copy=*/true);
        }
        for (auto& [name, g] : (*trainer)->NamedGradients()) result.grads[name] = g.to(at::kCPU);
      },
      {std::chrono::minutes(5)});
  return result;
}

double MaxRelDiff(const std::map<std::string, at::Tensor>& a,
                  const std::map<std::string, at::Tensor>& b) {
  double worst = 0;
  for (const auto& [name, t] : a) {
    auto it = b.find(name);
    SPINDLE_CHECK(it != b.end()) << "missing " << name;
    const double norm = t.to(at::kDouble).norm().item<double>();
    const double diff = (t.to(at::kDouble) - it->second.to(at::kDouble)).norm().item<double>();
    worst = std::max(worst, norm > 0 ? diff / norm : diff);
  }
  return worst;
}

}  // namespace spindle::train::testing
