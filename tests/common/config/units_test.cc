#include "common/config/units.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spindle::config {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

TEST(UnitsTest, ParsesDurations) {
  EXPECT_EQ(*ParseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(*ParseDuration("90s"), milliseconds(90000));
  EXPECT_EQ(*ParseDuration("30m"), milliseconds(1800000));
  EXPECT_EQ(*ParseDuration("2h"), milliseconds(7200000));
  EXPECT_EQ(*ParseDuration("1.5h"), milliseconds(5400000));
  EXPECT_EQ(*ParseDuration("2"), milliseconds(2000));  // a plain number is seconds
  EXPECT_EQ(*ParseDuration("0"), milliseconds(0));
}

TEST(UnitsTest, RejectsBadDurations) {
  EXPECT_THAT(ParseDuration("-5s").status().message(), HasSubstr("is not a duration"));
  EXPECT_THAT(ParseDuration("5 s").status().message(), HasSubstr("is not a duration"));
  EXPECT_THAT(ParseDuration("").status().message(), HasSubstr("is not a duration"));
  EXPECT_THAT(ParseDuration("1..5s").status().message(), HasSubstr("is not a duration"));
  EXPECT_EQ(ParseDuration("5d").status().message(), "'5d' has unknown unit 'd'; use ms, s, m or h");
  EXPECT_EQ(ParseDuration("0.5ms").status().message(),
            "'0.5ms' is not a whole number of milliseconds");
  EXPECT_EQ(ParseDuration("1e300h").status().message(),
            "'1e300h' is not a duration; write e.g. "
            "90s, 30m, 2h or 500ms (a non-negative "
            "number and a unit)");
  EXPECT_EQ(ParseDuration("99999999999999h").status().message(), "'99999999999999h' is too large");
}

TEST(UnitsTest, FormatsDurationsInTheLargestExactUnit) {
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(milliseconds(500)), "500ms");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(FormatDuration(milliseconds(90000)), "90s");
  EXPECT_EQ(FormatDuration(milliseconds(1800000)), "30m");
  EXPECT_EQ(FormatDuration(milliseconds(5400000)), "90m");
  EXPECT_EQ(FormatDuration(milliseconds(7200000)), "2h");
  for (int64_t ms : {1, 999, 1000, 61000, 3600000, 86400000, 123456789}) {
    EXPECT_EQ(*ParseDuration(FormatDuration(milliseconds(ms))), milliseconds(ms)) << ms;
  }
}

TEST(UnitsTest, ParsesByteSizes) {
  EXPECT_EQ(*ParseByteSize("64Gi"), int64_t{64} << 30);
  EXPECT_EQ(*ParseByteSize("512Mi"), int64_t{512} << 20);
  EXPECT_EQ(*ParseByteSize("4Ki"), 4096);
  EXPECT_EQ(*ParseByteSize("1G"), 1000000000);
  EXPECT_EQ(*ParseByteSize("10M"), 10000000);
  EXPECT_EQ(*ParseByteSize("1k"), 1000);
  EXPECT_EQ(*ParseByteSize("1K"), 1000);
  EXPECT_EQ(*ParseByteSize("1.5Ki"), 1536);
  EXPECT_EQ(*ParseByteSize("123"), 123);
  EXPECT_EQ(*ParseByteSize("9223372036854775807"), int64_t{9223372036854775807});
}

TEST(UnitsTest, RejectsBadByteSizes) {
  EXPECT_THAT(ParseByteSize("64GB").status().message(), HasSubstr("unknown unit 'GB'"));
  EXPECT_THAT(ParseByteSize("0.5").status().message(), HasSubstr("not a whole number of bytes"));
  EXPECT_THAT(ParseByteSize("7Ei").status().message(), HasSubstr("unknown unit 'Ei'"));
  EXPECT_THAT(ParseByteSize("8192Pi").status().message(), HasSubstr("too large"));
  EXPECT_THAT(ParseByteSize("9223372036854775808").status().message(), HasSubstr("too large"));
  EXPECT_THAT(ParseByteSize("9000Pi").status().message(), HasSubstr("too large"));
  EXPECT_THAT(ParseByteSize("-1").status().message(), HasSubstr("is not a byte size"));
}

TEST(UnitsTest, FormatsByteSizes) {
  EXPECT_EQ(FormatByteSize(0), "0");
  EXPECT_EQ(FormatByteSize(int64_t{64} << 30), "64Gi");
  EXPECT_EQ(FormatByteSize(1000000000), "1G");
  EXPECT_EQ(FormatByteSize(1536), "1536");
  EXPECT_EQ(FormatByteSize(1000), "1K");
  EXPECT_EQ(FormatByteSize(1001), "1001");
  for (int64_t n : {int64_t{1}, int64_t{1024}, int64_t{3} << 40, int64_t{5000000},
                    int64_t{9223372036854775807}}) {
    EXPECT_EQ(*ParseByteSize(FormatByteSize(n)), n) << n;
  }
}

}  // namespace
}  // namespace spindle::config
