#include "worker/bench/train_bench.h"

#include <sys/resource.h>

#include <algorithm>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/comm/local_communicator.h"
#include "common/config/job_spec.h"
#include "common/config/presets.h"
#include "common/data/synthetic.h"
#include "common/layout/flops.h"
#include "common/status.h"
#include "kernels/cpu/thread_pool.h"
#include "worker/bench/bench_util.h"
#include "worker/bench/blas_gate.h"
#include "worker/runtime/threads.h"
#include "worker/train/job_options.h"
#include "worker/train/trainer.h"

namespace spindle::bench {
namespace {

struct Case {
  std::string preset;
  int64_t seq_len;
  int ulysses, ring;
  std::string checkpointing;
  int steps;  // timed; one warm-up step more
  std::string Spec() const {
    return absl::StrCat(preset, ",", seq_len, ",", ulysses, ",", ring, ",", checkpointing, ",",
                        steps);
  }
};

struct Result {
  double step_seconds = 0;  // median over timed steps
  int64_t tokens = 0;       // per step
  long max_rss_kb = 0;
};

model::LlamaConfig PresetConfig(const std::string& preset) {
  config::ModelSpec spec;
  SPINDLE_CHECK(config::ApplyModelPreset(preset, &spec)) << "unknown preset " << preset;
  model::LlamaConfig c = train::LlamaConfigOf(spec);
  c.max_position_embeddings = 1 << 20;
  return c;
}

std::vector<Case> Cases(bool quick) {
  std::vector<Case> cases;
  const std::vector<std::string> modes = {"none", "full", "attention"};
  for (int64_t s : quick ? std::vector<int64_t>{256} : std::vector<int64_t>{256, 1024, 4096}) {
    for (auto [u, r] : std::vector<std::pair<int, int>>{{1, 1}, {1, 2}, {2, 2}}) {
      for (const std::string& mode : modes) cases.push_back({"tiny", s, u, r, mode, quick ? 2 : 5});
    }
  }
  for (int64_t s : quick ? std::vector<int64_t>{256} : std::vector<int64_t>{512, 2048}) {
    for (auto [u, r] : std::vector<std::pair<int, int>>{{1, 1}, {1, 2}}) {
      for (const std::string& mode : modes) {
        cases.push_back({"small-100m", s, u, r, mode, quick ? 1 : 2});
      }
    }
  }
  return cases;
}

}  // namespace

int RunTrainCase(const std::string& spec) {
  const std::vector<std::string> f = absl::StrSplit(spec, ',');
  SPINDLE_CHECK(f.size() == 6) << "--train-case " << spec;
  const int64_t seq_len = std::stoll(f[1]);
  const int u = std::stoi(f[2]), r = std::stoi(f[3]), steps = std::stoi(f[5]);
  const int world = u * r;
  train::TrainerOptions o;
  o.model = PresetConfig(f[0]);
  o.seq_len = seq_len;
  o.global_batch_seqs = 1;
  o.lr.max_steps = steps + 1;
  auto mode = model::ParseCheckpointing(f[4]);
  SPINDLE_CHECK(mode.ok()) << mode.status();
  o.checkpointing = *mode;
  const int vocab = static_cast<int>(o.model.vocab_size);
  o.data = [vocab](int64_t index, absl::Span<int64_t> out) {
    return data::CopySequence(1, index, static_cast<int64_t>(out.size()) - 1, vocab, out);
  };
  // Ranks are threads sharing the cores: BLAS single-threaded per rank
  // when there are at least as many ranks as cores.
  const runtime::ThreadBudget budget = runtime::PlanThreads(0, world);
  runtime::ApplyThreads(budget);
  const layout::MeshDims mesh = *layout::MakeMesh(world, 1, u, r);
  auto fabric = comm::LocalFabric::Create(world);
  std::vector<double> times;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      auto connect = [&](const std::vector<int>& ranks, const comm::CommOptions& c) {
        return fabric->Connect(ranks, rank, c);
      };
      auto groups = sp::BuildProcessGroups(mesh, rank, std::chrono::minutes(10), connect);
      SPINDLE_CHECK(groups.ok()) << groups.status();
      auto grad_comm = sp::BuildWorldGroup(mesh, rank, std::chrono::minutes(10), connect, "grad");
      SPINDLE_CHECK(grad_comm.ok()) << grad_comm.status();
      auto pool = std::make_shared<kernels::ThreadPool>(budget.kernel_threads);
      auto trainer = train::Trainer::Create(o, *groups, std::move(*grad_comm), pool);
      SPINDLE_CHECK(trainer.ok()) << trainer.status();
      for (int s = 0; s <= steps; ++s) {
        auto stats = (*trainer)->Step();
        SPINDLE_CHECK(stats.ok()) << stats.status();
        if (rank == 0 && s > 0) {
          std::lock_guard<std::mutex> lock(mu);
          times.push_back(stats->seconds);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::sort(times.begin(), times.end());
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  std::cout << "result " << times[times.size() / 2] << " " << seq_len << " " << usage.ru_maxrss
            << std::endl;
  return 0;
}

int RunTrainBench(const TrainBenchOptions& options, std::ostream& out) {
  const BlasGate gate = RunBlasGate(options.cores, out);
  const double peak = gate.fma_peak_gflops * 1e9;
  out << "## Training step (AdamW, fp32, one sequence per step)\n\n"
      << "Every case is a fresh process; P ranks are threads sharing the " << options.cores
      << " cores, so P > 1 shows overheads, not speed-ups. MFU = model FLOP/s ÷ the FMA peak "
         "above ("
      << Fixed(gate.fma_peak_gflops, 0)
      << " GFLOP/s), Megatron convention (6N + 6·L·h·S per token), PaLM's (6N + 12·L·h·S) "
         "beside it. Peak RSS covers all ranks of the case.\n\n";
  Table table({"model", "params", "S", "U×R", "checkpointing", "step s", "tokens/s", "MFU Megatron",
               "MFU PaLM", "peak RSS MiB"});
  int rc = 0;
  for (const Case& c : Cases(options.quick)) {
    const absl::StatusOr<std::string> result =
        RunSelfCase({"--train-case", c.Spec()}, std::chrono::minutes(20));
    if (!result.ok()) {
      std::cerr << "train " << result.status().message() << "\n";
      rc = 1;
      continue;
    }
    Result res;
    std::istringstream(*result) >> res.step_seconds >> res.tokens >> res.max_rss_kb;
    const model::LlamaConfig m = PresetConfig(c.preset);
    const layout::ModelShape shape{m.hidden_size,         m.intermediate_size,
                                   m.num_hidden_layers,   m.num_attention_heads,
                                   m.num_key_value_heads, m.vocab_size};
    const double tps = res.tokens / res.step_seconds;
    table.Add({c.preset, absl::StrCat(m.NumParameters()), absl::StrCat(c.seq_len),
               absl::StrCat(c.ulysses, "×", c.ring), c.checkpointing, Fixed(res.step_seconds, 3),
               Fixed(tps, 0),
               Fixed(100 * layout::MegatronFlopsPerToken(shape, c.seq_len) * tps / peak, 1) + "%",
               Fixed(100 * layout::PalmFlopsPerToken(shape, c.seq_len) * tps / peak, 1) + "%",
               Fixed(res.max_rss_kb / 1024.0, 0)});
  }
  table.Print(out);
  out << "\n";
  return rc;
}

}  // namespace spindle::bench
