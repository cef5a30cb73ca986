// The ranks' decision after a step, over 3 in-process ranks: one rank's stop
// signal or one rank's clock decides for all; the last step ignores signals;
// a job without a checkpoint directory never stops early and sends nothing.
#include "worker/train/step_end.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <array>
#include <chrono>
#include <memory>
#include <vector>

#include "common/comm/local_communicator.h"
#include "tests/testing/spawn_ranks.h"

namespace spindle::train {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
constexpr int kWorld = 3;

struct RankView {
  int64_t step = 5;
  bool last = false;
  std::chrono::steady_clock::duration since_checkpoint = seconds(0);
  int stop_signal = 0;
};

// Every rank's decision, each rank seeing its own view.
std::array<StepEnd, kWorld> Decide(const config::CheckpointSpec& ckpt,
                                   const std::array<RankView, kWorld>& views,
                                   std::array<int64_t, kWorld>* calls = nullptr) {
  auto fabric = comm::LocalFabric::Create(kWorld);
  std::array<StepEnd, kWorld> ends;
  testing::SpawnRanks(kWorld, [&](int rank) {
    comm::CommOptions options;
    options.timeout = seconds(10);
    auto world = fabric->Connect({0, 1, 2}, rank, options);
    ASSERT_TRUE(world.ok()) << world.status();
    const RankView& v = views[rank];
    auto end = AgreeOnStepEnd(**world, ckpt, v.step, v.last, v.since_checkpoint, v.stop_signal);
    ASSERT_TRUE(end.ok()) << end.status();
    ends[rank] = *end;
    if (calls) (*calls)[rank] = (*world)->counters()[comm::Op::kAllReduce].calls;
  });
  return ends;
}

config::CheckpointSpec Every(int64_t steps, std::chrono::milliseconds time) {
  config::CheckpointSpec ckpt;
  ckpt.dir = "/unused";
  ckpt.every.steps = steps;
  ckpt.every.time = time;
  return ckpt;
}

TEST(StepEndTest, OneRanksStopSignalStopsEveryRankWithACheckpoint) {
  std::array<RankView, kWorld> views;
  views[2].stop_signal = SIGTERM;
  for (const StepEnd& end : Decide(Every(100, minutes(0)), views)) {
    EXPECT_EQ(end.stop, SIGTERM);
    EXPECT_TRUE(end.checkpoint);
  }
}

TEST(StepEndTest, DifferentSignalsStillGiveOneDecision) {
  std::array<RankView, kWorld> views;
  views[0].stop_signal = SIGINT;
  views[1].stop_signal = SIGTERM;
  for (const StepEnd& end : Decide(Every(100, minutes(0)), views)) EXPECT_EQ(end.stop, SIGTERM);
}

TEST(StepEndTest, OneRanksClockMakesEveryRankCheckpoint) {
  std::array<RankView, kWorld> views;
  views[1].since_checkpoint = minutes(11);
  for (const StepEnd& end : Decide(Every(0, minutes(10)), views)) {
    EXPECT_TRUE(end.checkpoint);
    EXPECT_EQ(end.stop, 0);
  }
  views[1].since_checkpoint = minutes(9);
  for (const StepEnd& end : Decide(Every(0, minutes(10)), views)) EXPECT_FALSE(end.checkpoint);
}

TEST(StepEndTest, StepScheduleAndLastStep) {
  std::array<RankView, kWorld> views;
  for (RankView& v : views) v.step = 20;
  for (const StepEnd& end : Decide(Every(10, minutes(0)), views)) EXPECT_TRUE(end.checkpoint);
  for (RankView& v : views) v.step = 21;
  for (const StepEnd& end : Decide(Every(10, minutes(0)), views)) EXPECT_FALSE(end.checkpoint);
  // The last step finishes the job whatever the signals: checkpoint, no stop.
  for (RankView& v : views) v.last = true;
  views[0].stop_signal = SIGTERM;
  for (const StepEnd& end : Decide(Every(10, minutes(0)), views)) {
    EXPECT_TRUE(end.checkpoint);
    EXPECT_EQ(end.stop, 0);
  }
}

TEST(StepEndTest, WithoutACheckpointDirNothingIsSentAndNothingStops) {
  std::array<RankView, kWorld> views;
  for (RankView& v : views) v.stop_signal = SIGTERM;
  config::CheckpointSpec ckpt = Every(1, minutes(1));
  ckpt.dir.clear();
  std::array<int64_t, kWorld> calls{};
  for (const StepEnd& end : Decide(ckpt, views, &calls)) {
    EXPECT_FALSE(end.checkpoint);
    EXPECT_EQ(end.stop, 0);
  }
  for (int64_t n : calls) EXPECT_EQ(n, 0);
}

}  // namespace
}  // namespace spindle::train
