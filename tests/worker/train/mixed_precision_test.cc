// bf16 mixed precision (train.precision: bf16): bf16 weights, activations and
// attention; fp32 gradients, reduction, masters and optimizer state. Checked
// against the fp32 run of the same seed and data, on CPU, where the attention
// kernels compute the bf16 activations in fp32.
#include <torch/torch.h>

#include <mutex>

#include "common/comm/local_communicator.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tests/worker/train/train_harness.h"
#include "worker/train/train_checkpoint.h"
#include "worker/train/trainer.h"

namespace spindle::train {
namespace {

using testing::MaxRelDiff;
using testing::Mesh;
using testing::RunResult;
using testing::TinyOptions;
using testing::Train;

TrainerOptions Bf16Options() {
  TrainerOptions o = TinyOptions();
  o.compute_dtype = at::kBFloat16;
  return o;
}

TEST(MixedPrecision, FirstStepMatchesFp32WithinBf16Rounding) {
  const RunResult fp32 = Train(TinyOptions(), 1, 1, 1, 1);
  for (const Mesh& m :
       {Mesh{1, 1, 1, layout::LayoutKind::kContiguous}, Mesh{1, 2, 2, layout::LayoutKind::kZigzag},
        Mesh{2, 1, 2, layout::LayoutKind::kStriped}}) {
    SCOPED_TRACE(testing::MeshName(m));
    TrainerOptions options = Bf16Options();
    options.layout = m.layout;
    const RunResult bf16 = Train(options, m.dp, m.ulysses, m.ring, 1);
    ASSERT_EQ(bf16.losses.size(), 1u);
    EXPECT_NEAR(bf16.losses[0], fp32.losses[0], 1e-3 * fp32.losses[0]);
    EXPECT_NEAR(bf16.grad_norms[0], fp32.grad_norms[0], 5e-2 * fp32.grad_norms[0]);
    for (const auto& [name, g] : bf16.grads) {
      EXPECT_EQ(g.scalar_type(), at::kFloat) << name;
      EXPECT_TRUE(g.isfinite().all().item<bool>()) << name;
    }
    // bf16 keeps 8 significant bits (2⁻⁸ ≈ 4e-3 relative per rounding);
    // measured ≈ 8e-3 here.
    EXPECT_LE(MaxRelDiff(fp32.grads, bf16.grads), 2.5e-2);
  }
}

TEST(MixedPrecision, MastersKeepUpdatesBelowBf16Resolution) {
  constexpr int kSteps = 12;
  const RunResult fp32 = Train(TinyOptions(), 1, 1, 1, kSteps);
  std::mutex mu;
  std::map<std::string, at::Tensor> masters;
  const RunResult bf16 = Train(Bf16Options(), 2, 1, 2, kSteps, nullptr, [&](Trainer& t, int rank) {
    if (t.step() != kSteps) return;
    auto weights = t.optimizer().GatherWeights();  // collective: every rank
    ASSERT_TRUE(weights.ok()) << weights.status();
    if (rank != 0) return;
    std::lock_guard<std::mutex> lock(mu);
    for (auto& [name, w] : *weights) masters[name] = w.clone();
  });
  ASSERT_EQ(masters.size(), bf16.weights.size());
  int64_t finer = 0;  // master elements that bf16 cannot represent
  for (const auto& [name, w] : bf16.weights) {
    const at::Tensor& m = masters.at(name);
    ASSERT_EQ(w.scalar_type(), at::kBFloat16) << name;
    ASSERT_EQ(m.scalar_type(), at::kFloat) << name;
    // The compute copy is the master rounded to bf16, element for element.
    EXPECT_TRUE(torch::equal(m.to(at::kBFloat16), w)) << name;
    finer += m.ne(w.to(at::kFloat)).sum().item<int64_t>();
  }
  // lr 1e-3 against weights of ~2e-2: most updates are below a bf16 ulp and
  // live only in the masters.
  EXPECT_GT(finer, 0);
  for (int s = 0; s < kSteps; ++s) {
    EXPECT_NEAR(bf16.losses[s], fp32.losses[s], 1e-3 * fp32.losses[s]) << "step " << s + 1;
  }
  EXPECT_LE(MaxRelDiff(masters, fp32.weights), 1e-2);  // measured ≈ 3e-3
}

TEST(MixedPrecision, ResumeFromTheMastersReproducesTheUninterruptedRun) {
  spindle::testing::TempDir root;
  const TrainerOptions options = Bf16Options();
  const RunResult whole = Train(options, 1, 2, 2, 8);
  Train(options, 1, 2, 2, 5, nullptr, [&](Trainer& t, int) {
    if (t.step() != 5) return;
    auto dir = SaveCheckpoint(t, root.path(), /*data_seed=*/7, /*keep_last=*/2);
    ASSERT_TRUE(dir.ok()) << dir.status();
  });
  const RunResult rest = Train(options, 1, 2, 2, 3, [&](Trainer& t) {
    auto state = ResumeLatest(t, root.path(), nullptr);
    ASSERT_TRUE(state.ok()) << state.status();
    ASSERT_TRUE(state->has_value());
  });
  ASSERT_EQ(rest.losses.size(), 3u);
  for (int s = 0; s < 3; ++s) EXPECT_EQ(rest.losses[s], whole.losses[5 + s]) << "step " << s + 6;
  for (const auto& [name, w] : whole.weights) {
    EXPECT_TRUE(torch::equal(w, rest.weights.at(name))) << name;
  }
}

TEST(MixedPrecision, Float16IsRefusedWithTheField) {
  TrainerOptions options = TinyOptions();
  options.compute_dtype = at::kHalf;
  const layout::MeshDims mesh = *layout::MakeMesh(1, 1, 1, 1);
  auto fabric = comm::LocalFabric::Create(1);
  auto connect = [&](const std::vector<int>& ranks, const comm::CommOptions& opts) {
    return fabric->Connect(ranks, 0, opts);
  };
  auto groups = sp::BuildProcessGroups(mesh, 0, std::chrono::seconds(5), connect);
  ASSERT_TRUE(groups.ok()) << groups.status();
  auto grad = sp::BuildWorldGroup(mesh, 0, std::chrono::seconds(5), connect, "grad");
  ASSERT_TRUE(grad.ok()) << grad.status();
  auto trainer = Trainer::Create(options, *groups, std::move(*grad), nullptr);
  ASSERT_FALSE(trainer.ok());
  EXPECT_NE(trainer.status().message().find("train.precision"), std::string::npos)
      << trainer.status();
}

}  // namespace
}  // namespace spindle::train
