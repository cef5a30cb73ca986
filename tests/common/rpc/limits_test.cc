// common/rpc/limits: the per-host token bucket and the stream ceiling.
#include "common/rpc/limits.h"

#include <gtest/gtest.h>

namespace spindle::rpc {
namespace {

using std::chrono::milliseconds;

TEST(PeerHostTest, DropsThePort) {
  EXPECT_EQ(PeerHost("ipv4:10.0.0.7:52114"), "ipv4:10.0.0.7");
  EXPECT_EQ(PeerHost("ipv6:[::1]:5"), "ipv6:[::1]");
  EXPECT_EQ(PeerHost("unix:/tmp/sock"), "unix:/tmp/sock");
}

TEST(RateLimiterTest, BurstThenSustainedRatePerHost) {
  RateLimiter limiter(/*rate=*/10, /*burst=*/3);
  const auto t0 = RateLimiter::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("a", t0)) << i;
  EXPECT_FALSE(limiter.Allow("a", t0));
  EXPECT_TRUE(limiter.Allow("b", t0)) << "hosts have their own buckets";
  EXPECT_FALSE(limiter.Allow("a", t0 + milliseconds(50)));  // half a token back
  EXPECT_TRUE(limiter.Allow("a", t0 + milliseconds(100)));
  EXPECT_FALSE(limiter.Allow("a", t0 + milliseconds(100)));
  // A long quiet spell refills to the burst, not beyond.
  const auto later = t0 + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("a", later)) << i;
  EXPECT_FALSE(limiter.Allow("a", later));
}

TEST(RateLimiterTest, ZeroRateIsUnlimited) {
  RateLimiter limiter(0, 1);
  const auto t = RateLimiter::Clock::now();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.Allow("a", t));
}

TEST(StreamSlotsTest, SlotsComeBackWhenReleased) {
  StreamSlots slots(2);
  grpc::Status s;
  {
    StreamSlots::Slot a = slots.Acquire(&s);
    ASSERT_TRUE(s.ok());
    StreamSlots::Slot b = slots.Acquire(&s);
    ASSERT_TRUE(s.ok());
    StreamSlots::Slot c = slots.Acquire(&s);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_NE(s.error_message().find("--max_streams"), std::string::npos);
    EXPECT_EQ(slots.open(), 2);
  }
  EXPECT_EQ(slots.open(), 0);
  StreamSlots::Slot d = slots.Acquire(&s);
  EXPECT_TRUE(s.ok());
}

}  // namespace
}  // namespace spindle::rpc
