// Sequence-parallel attention between real processes over Gloo TCP on
// localhost: spindle-sp-demo ranks check output and gradients against
// float64 one-device attention and count bytes against the formulas; a rank
// killed with SIGKILL mid-attention makes every survivor exit with an error
// naming a peer within the collective timeout.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/rank_processes.h"
#include "tests/testing/temp_dir.h"
#include "worker/sp/self_check.h"

namespace spindle {
namespace {

using std::chrono::milliseconds;
using testing::RankExit;
using testing::RankProcesses;
using testing::RankProcessOptions;
using testing::TempDir;

struct Case {
  const char* name;
  int ulysses, ring;
  const char* layout;
  bool causal;
  const char* schedule = "ring";
};

class SpGlooTest : public ::testing::TestWithParam<Case> {};

TEST_P(SpGlooTest, MatchesOneDeviceFloat64AndTheTrafficFormulas) {
  const Case& c = GetParam();
  TempDir dir;
  const std::string result = dir.Join("result");
  RankProcessOptions options{
      SPINDLE_SP_DEMO_BIN,
      c.ulysses * c.ring,
      dir.path(),
      {"--ulysses=" + std::to_string(c.ulysses), "--ring=" + std::to_string(c.ring),
       std::string("--layout=") + c.layout, std::string("--schedule=") + c.schedule,
       std::string("--causal=") + (c.causal ? "true" : "false"), "--seq_len=301", "--heads=8",
       "--kv_heads=2", "--head_dim=32", "--iterations=0", "--timeout_s=60", "--result=" + result}};
  auto exits = testing::RunRanks(options, milliseconds(120000));
  ASSERT_TRUE(exits.ok()) << exits.status();
  for (const RankExit& e : *exits) ASSERT_TRUE(e.ok()) << e.Describe();

  std::ifstream in(result);
  std::string line;
  std::getline(in, line);
  auto summary = sp::SelfCheckSummary::FromLine(line);
  ASSERT_TRUE(summary.ok()) << summary.status() << " in " << result;
  EXPECT_LE(summary->err_o, 1e-5);
  EXPECT_LE(summary->err_dq, 1e-5);
  EXPECT_LE(summary->err_dk, 1e-5);
  EXPECT_LE(summary->err_dv, 1e-5);
  EXPECT_TRUE(summary->finite);
  EXPECT_EQ(summary->traffic_diff, 0);
  EXPECT_EQ(summary->bytes_sent, summary->formula_bytes);
  EXPECT_GT(summary->formula_bytes, 0);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, SpGlooTest,
                         ::testing::Values(Case{"ulysses4", 4, 1, "contiguous", true},
                                           Case{"ring4_zigzag", 1, 4, "zigzag", true},
                                           Case{"ring3_striped", 1, 3, "striped", true},
                                           Case{"ring2_contiguous_full", 1, 2, "contiguous", false},
                                           Case{"usp2x2_zigzag", 2, 2, "zigzag", true},
                                           Case{"lightseq4", 1, 4, "contiguous", true, "lightseq"}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

bool LogsContain(const TempDir& dir, int world, const std::string& text) {
  for (int r = 0; r < world; ++r) {
    std::ifstream in(dir.Join("rank_" + std::to_string(r) + ".log"));
    const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (log.find(text) == std::string::npos) return false;
  }
  return true;
}

// Four ranks running ring attention for a long time with a short collective
// timeout; returns once every rank formed its groups.
void StartLongRing(const TempDir& dir, int world, int timeout_s,
                   std::unique_ptr<RankProcesses>* out) {
  RankProcessOptions options{
      SPINDLE_SP_DEMO_BIN,
      world,
      dir.path(),
      {"--ring=4", "--layout=zigzag", "--seq_len=2048", "--heads=4", "--kv_heads=1",
       "--head_dim=32", "--iterations=100000", "--timeout_s=" + std::to_string(timeout_s)}};
  auto procs = RankProcesses::Start(options);
  ASSERT_TRUE(procs.ok()) << procs.status();
  const auto start = std::chrono::steady_clock::now();
  while (!LogsContain(dir, world, "groups formed") &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_TRUE(LogsContain(dir, world, "groups formed")) << "ranks never formed their groups";
  *out = *std::move(procs);
}

TEST(SpGlooFailureTest, ASigkilledRankMakesEverySurvivorFailWithinTheTimeout) {
  constexpr int kWorld = 4, kVictim = 2, kTimeoutS = 3;
  TempDir dir;
  std::unique_ptr<RankProcesses> procs;
  ASSERT_NO_FATAL_FAILURE(StartLongRing(dir, kWorld, kTimeoutS, &procs));
  std::this_thread::sleep_for(milliseconds(1500));  // well inside the attention loop
  procs->Kill(kVictim, SIGKILL);

  const std::vector<RankExit> exits = procs->Wait(milliseconds(60000));
  EXPECT_EQ(exits[kVictim].signal, SIGKILL) << exits[kVictim].Describe();
  for (const RankExit& e : exits) {
    if (e.rank == kVictim) continue;
    EXPECT_FALSE(e.killed_at_deadline) << "survivor hung: " << e.Describe();
    EXPECT_TRUE(e.exited && e.exit_code != 0) << e.Describe();
    EXPECT_NE(e.log.find("rank"), std::string::npos) << e.Describe();
    EXPECT_NE(e.log.find("send_recv in group 'ring"), std::string::npos) << e.Describe();
  }
}

// A rank that stops answering (SIGSTOP: alive, connections open, silent)
// inside the ring: its neighbours hit the collective timeout naming it, the
// others lose a neighbour; every survivor exits with an error instead of
// hanging, within a few timeouts (the failure travels the ring).
TEST(SpGlooFailureTest, ASilentRankMakesEverySurvivorFailWithinTheTimeout) {
  constexpr int kWorld = 4, kVictim = 2, kTimeoutS = 3;
  TempDir dir;
  std::unique_ptr<RankProcesses> procs;
  ASSERT_NO_FATAL_FAILURE(StartLongRing(dir, kWorld, kTimeoutS, &procs));
  std::this_thread::sleep_for(milliseconds(1500));
  procs->Kill(kVictim, SIGSTOP);

  // The silent rank never exits: Wait SIGKILLs it at the deadline, by which
  // every survivor must have failed on its own.
  const std::vector<RankExit> exits = procs->Wait(milliseconds(3 * kTimeoutS * 1000 + 5000));
  EXPECT_TRUE(exits[kVictim].killed_at_deadline) << exits[kVictim].Describe();
  bool someone_named_it = false;
  for (const RankExit& e : exits) {
    if (e.rank == kVictim) continue;
    EXPECT_FALSE(e.killed_at_deadline) << "survivor hung: " << e.Describe();
    EXPECT_TRUE(e.exited && e.exit_code != 0) << e.Describe();
    someone_named_it |= e.log.find("world rank " + std::to_string(kVictim)) != std::string::npos &&
                        e.log.find("within 3") != std::string::npos;
  }
  EXPECT_TRUE(someone_named_it) << "no survivor's error names the silent rank and the timeout";
}

}  // namespace
}  // namespace spindle
