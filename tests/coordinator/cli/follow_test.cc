#include "coordinator/cli/follow.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace spindle::cli {
namespace {

namespace v1 = spindle::v1;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

v1::JobEvent ProgressEvent(int64_t step, int64_t total = 1000) {
  v1::JobEvent e;
  e.set_kind(v1::JobEvent::PROGRESS);
  e.mutable_progress()->set_step(step);
  e.mutable_progress()->set_total_steps(total);
  e.mutable_progress()->set_loss(3.0);
  return e;
}

v1::JobEvent StateEvent(int64_t seq, v1::JobState state, std::string message) {
  v1::JobEvent e;
  e.set_seq(seq);
  e.set_time_ms(absl::ToUnixMillis(kT0));
  e.set_kind(v1::JobEvent::STATE);
  e.set_state(state);
  e.set_attempt(1);
  e.set_message(std::move(message));
  return e;
}

TEST(ProgressThrottleTest, EveryTenthOrTenSeconds) {
  ProgressThrottle throttle;
  std::vector<int64_t> printed;
  absl::Time now = kT0;
  // One step per 10 ms: the clock never reaches 10 s between lines, so the
  // 10% marks print (and the first and last step).
  for (int64_t step = 1; step <= 1000; ++step) {
    now += absl::Milliseconds(10);
    if (throttle.ShouldPrint(ProgressEvent(step).progress(), now)) printed.push_back(step);
  }
  EXPECT_EQ(printed, (std::vector<int64_t>{1, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000}));
}

TEST(ProgressThrottleTest, TimeAloneTriggersAndRepeatsAreSkipped) {
  ProgressThrottle throttle;
  v1::Progress p = ProgressEvent(1, 1000000).progress();
  EXPECT_TRUE(throttle.ShouldPrint(p, kT0));
  EXPECT_FALSE(throttle.ShouldPrint(p, kT0 + absl::Seconds(60)));  // same step
  p.set_step(2);
  EXPECT_FALSE(throttle.ShouldPrint(p, kT0 + absl::Seconds(9)));
  EXPECT_TRUE(throttle.ShouldPrint(p, kT0 + absl::Seconds(10)));
  p.set_step(3);
  EXPECT_FALSE(throttle.ShouldPrint(p, kT0 + absl::Seconds(15)));
  // Without a total only the clock counts.
  v1::Progress open;
  open.set_step(5);
  ProgressThrottle t2;
  EXPECT_TRUE(t2.ShouldPrint(open, kT0));
  open.set_step(6);
  EXPECT_FALSE(t2.ShouldPrint(open, kT0 + absl::Seconds(1)));
}

TEST(FollowerTest, PlainLinesWhenNotATerminal) {
  Follower f({"demo-3", /*tty=*/false, /*json=*/false, /*quiet=*/false, absl::UTCTimeZone()});
  EXPECT_EQ(f.OnEvent(StateEvent(4, v1::RUNNING, "every rank started"), kT0),
            "22:13:20 job demo-3 RUNNING (attempt 1): every rank started\n");
  EXPECT_EQ(f.last_seq(), 4);
  EXPECT_EQ(f.state(), v1::RUNNING);
  EXPECT_EQ(f.OnEvent(ProgressEvent(1), kT0), "[................] step 1/1000  loss 3.0000\n");
  EXPECT_EQ(f.OnEvent(ProgressEvent(2), kT0 + absl::Seconds(1)), "");
  EXPECT_EQ(f.last_seq(), 4);  // progress events carry no stored seq
  EXPECT_EQ(f.OnEvent(StateEvent(5, v1::SUCCEEDED, "done"), kT0),
            "22:13:20 job demo-3 SUCCEEDED (attempt 1): done\n");
  EXPECT_EQ(f.EndLine(), "");
}

TEST(FollowerTest, BarRedrawnInPlaceOnATerminal) {
  Follower f({"demo-3", /*tty=*/true, /*json=*/false, /*quiet=*/false, absl::UTCTimeZone()});
  EXPECT_EQ(f.OnEvent(ProgressEvent(500), kT0),
            "\r\x1b[K[########........] step 500/1000  loss 3.0000");
  EXPECT_EQ(f.OnEvent(ProgressEvent(501), kT0),
            "\r\x1b[K[########........] step 501/1000  loss 3.0000");
  // An event line first erases the bar.
  EXPECT_EQ(f.OnEvent(StateEvent(6, v1::RESTARTING, "rank 1 exited"), kT0),
            "\r\x1b[K22:13:20 job demo-3 RESTARTING (attempt 1): rank 1 exited\n");
  EXPECT_EQ(f.EndLine(), "");
  f.OnEvent(ProgressEvent(502), kT0);
  EXPECT_EQ(f.EndLine(), "\n");
}

TEST(FollowerTest, JsonLinesAndQuiet) {
  Follower json({"demo-3", false, /*json=*/true, false, absl::UTCTimeZone()});
  std::string line = json.OnEvent(StateEvent(7, v1::FAILED, "rank 0 OOM"), kT0);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["kind"], "STATE");
  EXPECT_EQ(j["state"], "FAILED");
  EXPECT_EQ(j["message"], "rank 0 OOM");

  Follower quiet({"demo-3", false, false, /*quiet=*/true, absl::UTCTimeZone(), v1::QUEUED});
  EXPECT_EQ(quiet.state(), v1::QUEUED);
  EXPECT_EQ(quiet.OnEvent(StateEvent(8, v1::CANCELLED, "by ada"), kT0), "");
  EXPECT_EQ(quiet.OnEvent(ProgressEvent(3), kT0), "");
  EXPECT_EQ(quiet.state(), v1::CANCELLED);
  EXPECT_EQ(quiet.last_seq(), 8);
}

}  // namespace
}  // namespace spindle::cli
