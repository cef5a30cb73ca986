#include <signal.h>

#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "tests/testing/rank_processes.h"
#include "tests/testing/spawn_ranks.h"
#include "tests/testing/temp_dir.h"

namespace spindle::testing {
namespace {

using std::chrono::milliseconds;

TEST(SpawnRanksTest, RunsEveryRankOnce) {
  std::atomic<int> mask{0};
  SpawnRanks(7, [&](int rank) { mask.fetch_or(1 << rank); });
  EXPECT_EQ(mask.load(), 0x7f);
}

TEST(SpawnRanksTest, FailureNamesTheRank) {
  EXPECT_NONFATAL_FAILURE_ON_ALL_THREADS(SpawnRanks(3, [](int rank) { EXPECT_NE(rank, 2); }),
                                         "rank 2");
}

TEST(SpawnRanksTest, ExceptionBecomesFailureNamingTheRank) {
  EXPECT_NONFATAL_FAILURE_ON_ALL_THREADS(SpawnRanks(2,
                                                    [](int rank) {
                                                      if (rank == 1) throw std::runtime_error("x");
                                                    }),
                                         "rank 1 threw: x");
}

TEST(TempDirTest, FreshAndRemoved) {
  std::string path;
  {
    TempDir a;
    TempDir b;
    path = a.path();
    EXPECT_NE(a.path(), b.path());
    EXPECT_TRUE(std::filesystem::is_directory(path));
    EXPECT_TRUE(std::filesystem::is_empty(path));
    EXPECT_NE(path.find("TempDirTest.FreshAndRemoved"), std::string::npos) << path;
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

RankProcessOptions Options(const TempDir& dir, int world, const std::string& mode) {
  return {SPINDLE_TESTING_RANK_BIN, world, dir.path(), {"--mode", mode}};
}

TEST(RankProcessesTest, PassesFlagsAndReturnsExitCodes) {
  TempDir dir;
  auto exits = RunRanks(Options(dir, 3, "exit"), milliseconds(20000));
  ASSERT_TRUE(exits.ok()) << exits.status();
  ASSERT_EQ(exits->size(), 3u);
  for (int rank = 0; rank < 3; ++rank) {
    const RankExit& e = (*exits)[rank];
    EXPECT_TRUE(e.exited) << e.Describe();
    EXPECT_EQ(e.exit_code, 10 + rank) << e.Describe();
    EXPECT_FALSE(e.killed_at_deadline);
    EXPECT_EQ(e.log, "rank " + std::to_string(rank) + " of 3 store " + dir.path() + " mode exit\n");
  }
}

TEST(RankProcessesTest, KillsRanksStillRunningAtTheDeadline) {
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  auto exits = RunRanks(Options(dir, 2, "sleep"), milliseconds(300));
  ASSERT_TRUE(exits.ok()) << exits.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  for (const RankExit& e : *exits) {
    EXPECT_TRUE(e.killed_at_deadline) << e.Describe();
    EXPECT_FALSE(e.exited);
    EXPECT_EQ(e.signal, SIGKILL);
  }
}

TEST(RankProcessesTest, KillOneRank) {
  TempDir dir;
  auto procs = RankProcesses::Start(Options(dir, 2, "sleep"));
  ASSERT_TRUE(procs.ok()) << procs.status();
  (*procs)->Kill(1, SIGTERM);
  std::vector<RankExit> exits = (*procs)->Wait(milliseconds(300));
  EXPECT_TRUE(exits[0].killed_at_deadline);
  EXPECT_FALSE(exits[1].killed_at_deadline) << exits[1].Describe();
  EXPECT_EQ(exits[1].signal, SIGTERM);
}

TEST(RankProcessesTest, MissingExecutableIsAnError) {
  TempDir dir;
  RankProcessOptions options = Options(dir, 2, "exit");
  options.executable = dir.Join("no_such_binary");
  EXPECT_FALSE(RunRanks(options, milliseconds(1000)).ok());
}

}  // namespace
}  // namespace spindle::testing
