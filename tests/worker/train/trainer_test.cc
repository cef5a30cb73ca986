// The trainer on every parallel layout matches one device step for step.
#include "worker/train/trainer.h"

#include <cmath>

#include "gtest/gtest.h"
#include "tests/worker/train/train_harness.h"

namespace spindle::train {
namespace {

using testing::MaxRelDiff;
using testing::Mesh;
using testing::RunResult;
using testing::TinyOptions;
using testing::Train;

constexpr int kSteps = 20;
constexpr double kTolerance = 1e-5;

void ExpectSameRun(const RunResult& ref, const RunResult& run) {
  ASSERT_EQ(ref.losses.size(), run.losses.size());
  for (size_t s = 0; s < ref.losses.size(); ++s) {
    EXPECT_NEAR(run.losses[s], ref.losses[s], kTolerance * std::abs(ref.losses[s]))
        << "step " << s + 1;
  }
  EXPECT_LE(MaxRelDiff(ref.weights, run.weights), kTolerance);
}

class TrainerEquivalence : public ::testing::TestWithParam<Mesh> {};

TEST_P(TrainerEquivalence, LossesAndWeightsMatchOneDevice) {
  const Mesh m = GetParam();
  TrainerOptions options = TinyOptions();
  static const RunResult* reference = new RunResult(Train(options, 1, 1, 1, kSteps));
  static const RunResult* first_step = new RunResult(Train(options, 1, 1, 1, 1));
  options.layout = m.layout;
  // The first step's reduced gradients: only summation order differs.
  EXPECT_LE(MaxRelDiff(first_step->grads, Train(options, m.dp, m.ulysses, m.ring, 1).grads), 1e-6);
  // Twenty steps: AdamW divides by the root of the second moment, so
  // rounding differences in small gradients grow; the bound still holds.
  const RunResult run = Train(options, m.dp, m.ulysses, m.ring, kSteps);
  ExpectSameRun(*reference, run);
}

INSTANTIATE_TEST_SUITE_P(Layouts, TrainerEquivalence,
                         ::testing::Values(Mesh{1, 2, 1, layout::LayoutKind::kContiguous},
                                           Mesh{1, 1, 4, layout::LayoutKind::kZigzag},
                                           Mesh{1, 2, 2, layout::LayoutKind::kZigzag},
                                           Mesh{2, 1, 2, layout::LayoutKind::kZigzag},
                                           Mesh{2, 2, 1, layout::LayoutKind::kStriped}),
                         [](const ::testing::TestParamInfo<Mesh>& info) {
                           return testing::MeshName(info.param);
                         });

TEST(Trainer, NonDivisibleSequenceLengthTrainsIdentically) {
  TrainerOptions options = TinyOptions();
  options.seq_len = 250;  // pads to 256 on ring 4 zigzag (granule 8), 252 on U2R2
  const RunResult reference = Train(options, 1, 1, 1, 8);
  ExpectSameRun(reference, Train(options, 1, 1, 4, 8));
  ExpectSameRun(reference, Train(options, 1, 2, 2, 8));
}

TEST(Trainer, ShardedOptimizerTrainsExactlyLikeTheReplicatedOne) {
  TrainerOptions options = TinyOptions();
  options.shard_optimizer = false;
  const RunResult replicated = Train(options, 2, 1, 2, 6);
  options.shard_optimizer = true;
  const RunResult sharded = Train(options, 2, 1, 2, 6);
  EXPECT_EQ(replicated.losses, sharded.losses);
  EXPECT_EQ(MaxRelDiff(replicated.weights, sharded.weights), 0.0);
}

TEST(Trainer, CheckpointingModesGiveIdenticalGradients) {
  TrainerOptions options = TinyOptions();
  options.model.num_hidden_layers = 3;
  RunResult runs[3];
  const model::Checkpointing modes[] = {model::Checkpointing::kNone, model::Checkpointing::kFull,
                                        model::Checkpointing::kAttention};
  for (int i = 0; i < 3; ++i) {
    options.checkpointing = modes[i];
    runs[i] = Train(options, 1, 1, 2, 1);
  }
  for (int i = 1; i < 3; ++i) {
    SCOPED_TRACE(model::CheckpointingName(modes[i]));
    // Recomputation repeats the same kernels on the same inputs; only the
    // order in which backward sums a residual's two branches may differ.
    EXPECT_LE(MaxRelDiff(runs[0].grads, runs[i].grads), 1e-6);
    EXPECT_EQ(runs[0].losses, runs[i].losses);
  }
  // Attention forwards per step: one per layer per micro-step (2 micro-steps);
  // full checkpointing re-runs each once more in backward; attention-aware never.
  const int64_t per_step = 3 * 2;
  EXPECT_EQ(runs[0].attention_calls[0], per_step);
  EXPECT_EQ(runs[1].attention_calls[0], 2 * per_step);
  EXPECT_EQ(runs[2].attention_calls[0], per_step);
}

TEST(Trainer, InitialLossIsUniformOnEveryLayout) {
  TrainerOptions options = TinyOptions();
  const RunResult sp1 = Train(options, 1, 1, 1, 1);
  const RunResult sp2 = Train(options, 1, 1, 2, 1);
  ASSERT_EQ(sp1.losses.size(), 1u);
  EXPECT_NEAR(sp2.losses[0], sp1.losses[0], kTolerance * sp1.losses[0]);
  EXPECT_NEAR(sp1.losses[0], std::log(256.0), 0.1) << "initial loss of a uniform predictor";
}

TEST(Trainer, RejectsBatchNotDivisibleByDataParallel) {
  TrainerOptions options = TinyOptions();
  options.global_batch_seqs = 3;
  const layout::MeshDims mesh = *layout::MakeMesh(2, 2, 1, 1);
  sp::ProcessGroups groups;
  groups.mesh = mesh;
  auto t = Trainer::Create(options, groups, nullptr, nullptr);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("data.global_batch_seqs"), std::string::npos) << t.status();
}

}  // namespace
}  // namespace spindle::train
