// Checkpoints: exact resume, resume on another layout, torn checkpoints.
#include "worker/train/train_checkpoint.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tests/worker/train/train_harness.h"

namespace spindle::train {
namespace {

using testing::RunResult;
using testing::TinyOptions;
using testing::Train;

// Saves a checkpoint (collectively) after each step listed.
std::function<void(Trainer&, int)> SaveAt(const std::string& root, std::vector<int64_t> steps) {
  return [root, steps](Trainer& t, int) {
    if (std::find(steps.begin(), steps.end(), t.step()) == steps.end()) return;
    auto dir = SaveCheckpoint(t, root, /*data_seed=*/7, /*keep_last=*/3);
    ASSERT_TRUE(dir.ok()) << dir.status();
  };
}

std::function<void(Trainer&)> Resume(const std::string& root, int64_t expect_step,
                                     std::vector<std::string>* skipped = nullptr) {
  return [=](Trainer& t) {
    auto state = ResumeLatest(t, root, t.groups().world->rank() == 0 ? skipped : nullptr);
    ASSERT_TRUE(state.ok()) << state.status();
    ASSERT_TRUE(state->has_value());
    EXPECT_EQ((*state)->step, expect_step);
    EXPECT_EQ(t.step(), expect_step);
  };
}

TEST(TrainCheckpoint, ResumeReproducesTheUninterruptedRunExactly) {
  spindle::testing::TempDir root;
  const TrainerOptions options = TinyOptions();
  const RunResult whole = Train(options, 1, 2, 2, 10);
  const RunResult first = Train(options, 1, 2, 2, 6, nullptr, SaveAt(root.path(), {6}));
  const RunResult rest = Train(options, 1, 2, 2, 4, Resume(root.path(), 6));
  ASSERT_EQ(rest.losses.size(), 4u);
  for (int s = 0; s < 6; ++s) EXPECT_EQ(first.losses[s], whole.losses[s]) << "step " << s + 1;
  for (int s = 0; s < 4; ++s) EXPECT_EQ(rest.losses[s], whole.losses[6 + s]) << "step " << s + 7;
  for (const auto& [name, w] : whole.weights) {
    EXPECT_TRUE(torch::equal(w, rest.weights.at(name))) << name;
  }
}

TEST(TrainCheckpoint, ResumesOnADifferentLayout) {
  spindle::testing::TempDir root;
  const TrainerOptions options = TinyOptions();
  const RunResult whole = Train(options, 1, 1, 1, 8);
  Train(options, 1, 2, 2, 4, nullptr, SaveAt(root.path(), {4}));              // written by U2×R2
  // read by DP2×R1: the optimizer's shards are cut at other places
  const RunResult rest = Train(options, 2, 1, 1, 4, Resume(root.path(), 4));
  for (int s = 0; s < 4; ++s) {
    EXPECT_NEAR(rest.losses[s], whole.losses[4 + s], 1e-5 * whole.losses[4 + s]) << s + 5;
  }
  EXPECT_LE(testing::MaxRelDiff(whole.weights, rest.weights), 1e-5);
}

TEST(TrainCheckpoint, TornCheckpointFallsBackToThePreviousOne) {
  spindle::testing::TempDir root;
  const TrainerOptions options = TinyOptions();
  Train(options, 1, 1, 2, 4, nullptr, SaveAt(root.path(), {2, 4}));
  const std::string newest = root.Join("step-00000004/model.safetensors");
  ASSERT_TRUE(std::filesystem::exists(newest));
  std::filesystem::resize_file(newest, std::filesystem::file_size(newest) / 2);
  std::vector<std::string> skipped;
  Train(options, 1, 1, 2, 1, Resume(root.path(), 2, &skipped));
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("step-00000004"), std::string::npos) << skipped[0];
  EXPECT_NE(skipped[0].find("model.safetensors"), std::string::npos) << skipped[0];
}

TEST(TrainCheckpoint, RefusesAnotherModel) {
  spindle::testing::TempDir root;
  TrainerOptions options = TinyOptions();
  Train(options, 1, 1, 1, 1, nullptr, SaveAt(root.path(), {1}));
  options.model.intermediate_size = 192;
  Train(options, 1, 1, 1, 0, [&](Trainer& t) {
    auto state = ResumeLatest(t, root.path(), nullptr);
    ASSERT_FALSE(state.ok());
    EXPECT_NE(state.status().message().find("config.json"), std::string::npos) << state.status();
  });
}

}  // namespace
}  // namespace spindle::train
