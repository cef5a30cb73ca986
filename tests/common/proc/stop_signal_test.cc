// A rank's stop signals in a real process that, like one linking OpenBLAS,
// starts a thread before main: the first SIGTERM or SIGINT only raises the
// flag, repeats of either are absorbed (the process exits normally with the
// first signal's number), SIGKILL still ends it, and with OnStopSignal::kDie
// the first signal ends it as by default.
#include "common/proc/stop_signal.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/proc/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace spindle::proc {
namespace {

// Starts the child and waits until it says it watches.
absl::StatusOr<Subprocess> StartChild(const testing::TempDir& dir,
                                      std::vector<std::string> args = {}) {
  SpawnOptions o;
  o.program = SPINDLE_STOP_SIGNAL_CHILD;
  o.args = std::move(args);
  o.stdout_path = dir.Join("out");
  auto child = Subprocess::Spawn(o);
  if (!child.ok()) return child;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (std::string line; line != "ready" && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::ifstream in(o.stdout_path);
    std::getline(in, line);
  }
  return child;
}

// Starts the child (with args), sends it `signals` 50 ms apart once it
// watches, and returns how it ended.
ExitStatus SignalChild(const std::vector<int>& signals, std::vector<std::string> args = {}) {
  testing::TempDir dir;
  auto child = StartChild(dir, std::move(args));
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return {};
  for (size_t i = 0; i < signals.size(); ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    child->Signal(signals[i]);
  }
  std::vector<Subprocess> children;
  children.push_back(std::move(child).value());
  auto exits = WaitAll(children, std::chrono::seconds(30), /*fail_fast=*/false);
  EXPECT_TRUE(exits.ok()) << exits.status();
  return exits.ok() ? (*exits)[0] : ExitStatus{};
}

TEST(StopSignalTest, FirstSignalRaisesTheFlagAndRepeatsAreAbsorbed) {
  const ExitStatus s = SignalChild({SIGTERM, SIGINT, SIGTERM});
  EXPECT_TRUE(s.exited) << s.Describe();
  EXPECT_EQ(s.code, SIGTERM) << s.Describe();
}

TEST(StopSignalTest, CtrlCIsAStopRequestToo) {
  const ExitStatus s = SignalChild({SIGINT});
  EXPECT_TRUE(s.exited) << s.Describe();
  EXPECT_EQ(s.code, SIGINT) << s.Describe();
}

TEST(StopSignalTest, SigkillStillEndsIt) {
  const ExitStatus s = SignalChild({SIGKILL});
  EXPECT_FALSE(s.exited) << s.Describe();
  EXPECT_EQ(s.signal, SIGKILL) << s.Describe();
}

TEST(StopSignalTest, DieModeEndsTheProcessByTheSignal) {
  const ExitStatus s = SignalChild({SIGTERM}, {"die"});
  EXPECT_FALSE(s.exited) << s.Describe();
  EXPECT_EQ(s.signal, SIGTERM) << s.Describe();
}

}  // namespace
}  // namespace spindle::proc
