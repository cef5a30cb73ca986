// Real processes over Gloo TCP on localhost, rendezvous through a FileStore
// in a fresh temp dir: comm_rank_main checks every collective; a rank killed
// with SIGKILL mid-run makes every survivor exit with a communicator error
// within the timeout; a rank that never arrives is named at rendezvous.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/rank_processes.h"
#include "tests/testing/temp_dir.h"

namespace spindle::comm {
namespace {

using std::chrono::milliseconds;
using testing::RankExit;
using testing::RankProcesses;
using testing::RankProcessOptions;
using testing::TempDir;

constexpr int kCommErrorExit = 3;  // comm_rank_main's exit code for a Status error

RankProcessOptions Options(const TempDir& dir, int world, std::vector<std::string> args) {
  return {SPINDLE_COMM_RANK_BIN, world, dir.path(), std::move(args)};
}

class GlooProcessTest : public ::testing::TestWithParam<int> {};

TEST_P(GlooProcessTest, EveryCollectiveIsCorrect) {
  TempDir dir;
  auto exits =
      testing::RunRanks(Options(dir, GetParam(), {"--mode", "check"}), milliseconds(60000));
  ASSERT_TRUE(exits.ok()) << exits.status();
  for (const RankExit& e : *exits) EXPECT_TRUE(e.ok()) << e.Describe();
}

INSTANTIATE_TEST_SUITE_P(World, GlooProcessTest, ::testing::Values(2, 3, 4));

TEST(GlooProcessFailureTest, SigkilledRankFailsEverySurvivorWithinTheTimeout) {
  constexpr int kWorld = 4;
  constexpr int kVictim = 2;
  constexpr milliseconds kTimeout{2000};
  TempDir dir;
  auto procs = RankProcesses::Start(
      Options(dir, kWorld, {"--mode", "loop", "--timeout_ms", std::to_string(kTimeout.count())}));
  ASSERT_TRUE(procs.ok()) << procs.status();
  const auto start = std::chrono::steady_clock::now();

  // Kill only once every rank is inside the loop of collectives.
  bool ready = false;
  while (!ready && std::chrono::steady_clock::now() - start < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(milliseconds(10));
    ready = true;
    for (int r = 0; r < kWorld; ++r) {
      ready = ready && std::filesystem::exists(dir.Join("ready_" + std::to_string(r)));
    }
  }
  ASSERT_TRUE(ready) << "ranks never all reached the loop";
  const auto killed_at =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  (*procs)->Kill(kVictim, SIGKILL);

  const std::vector<RankExit> exits = (*procs)->Wait(kTimeout + milliseconds(20000));
  EXPECT_EQ(exits[kVictim].signal, SIGKILL) << exits[kVictim].Describe();
  const std::regex error(
      "comm error: (UNAVAILABLE|DEADLINE_EXCEEDED): (all_reduce|barrier) in group 'world': "
      "(lost |no data from )?rank [0-9] \\(world rank [0-9]\\)");
  bool victim_named = false;
  for (const RankExit& e : exits) {
    if (e.rank == kVictim) continue;
    EXPECT_TRUE(e.exited && e.exit_code == kCommErrorExit) << e.Describe();
    EXPECT_FALSE(e.killed_at_deadline) << e.Describe();
    EXPECT_TRUE(std::regex_search(e.log, error)) << e.Describe();
    // Survivors fail within the timeout (plus scheduling slack) of the kill:
    // neighbours see the dead socket, the rest the neighbours' failures.
    EXPECT_LT(e.elapsed - killed_at, kTimeout + milliseconds(1500)) << e.Describe();
    victim_named = victim_named ||
                   e.log.find("(world rank " + std::to_string(kVictim) + ")") != std::string::npos;
  }
  EXPECT_TRUE(victim_named) << "no survivor named the killed rank";
}

TEST(GlooProcessFailureTest, RankMissingAtRendezvousIsNamed) {
  TempDir dir;
  auto exits = testing::RunRanks(
      Options(dir, 3, {"--mode", "absent", "--absent_rank", "2", "--timeout_ms", "1000"}),
      milliseconds(20000));
  ASSERT_TRUE(exits.ok()) << exits.status();
  EXPECT_TRUE((*exits)[2].ok()) << (*exits)[2].Describe();
  for (int r = 0; r < 2; ++r) {
    const RankExit& e = (*exits)[r];
    EXPECT_TRUE(e.exited && e.exit_code == kCommErrorExit) << e.Describe();
    EXPECT_EQ(e.log,
              "comm error: DEADLINE_EXCEEDED: rendezvous of group 'world': rank 2 (world rank 2) "
              "did not arrive within 1s\n");
    EXPECT_LT(e.elapsed, milliseconds(1000 + 800)) << e.Describe();  // FileStore waits are precise
  }
}

}  // namespace
}  // namespace spindle::comm
