// The vectorised 2^x of every ISA: ~1 ulp accuracy, exact special values, and
// every tail length.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/kernel_table.h"

namespace spindle::kernels::cpu {
namespace {

std::vector<Isa> SupportedIsas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::kSse2, Isa::kAvx2, Isa::kAvx512}) {
    if (IsaSupported(isa)) isas.push_back(isa);
  }
  return isas;
}

// Distance in units of the last place between float y and the exact value.
double Ulps(float y, double exact) {
  const double ulp = std::ldexp(1.0, std::ilogb(static_cast<float>(exact)) - 23);
  return std::abs(static_cast<double>(y) - exact) / ulp;
}

TEST(VecExpTest, WithinTwoUlpsOverTheNormalRange) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-125.9f, 127.4f);
  std::vector<float> x(100003);
  for (float& v : x) v = dist(rng);
  for (int i = 0; i < 2000; ++i) x[i] = -1.0f + i / 1000.0f;  // dense around 0
  std::vector<float> y(x.size());
  for (Isa isa : SupportedIsas()) {
    SCOPED_TRACE(IsaName(isa));
    Kernels(isa).exp2(x.data(), y.data(), static_cast<int64_t>(x.size()));
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i)
      worst = std::max(worst, Ulps(y[i], std::exp2(double{x[i]})));
    EXPECT_LE(worst, 2.0);
  }
}

TEST(VecExpTest, SpecialValues) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {-kInf, -1000.0f, -127.0f, 0.0f, 1.0f,         -3.0f,
                                10.0f, 128.0f,   1000.0f, kInf, std::nanf("")};
  std::vector<float> y(x.size());
  for (Isa isa : SupportedIsas()) {
    SCOPED_TRACE(IsaName(isa));
    Kernels(isa).exp2(x.data(), y.data(), static_cast<int64_t>(x.size()));
    EXPECT_EQ(y[0], 0.0f);  // a masked score contributes exactly nothing
    EXPECT_FALSE(std::signbit(y[0]));
    EXPECT_EQ(y[1], 0.0f);
    EXPECT_EQ(y[2], 0.0f);
    EXPECT_EQ(y[3], 1.0f);  // integers are exact
    EXPECT_EQ(y[4], 2.0f);
    EXPECT_EQ(y[5], 0.125f);
    EXPECT_EQ(y[6], 1024.0f);
    EXPECT_EQ(y[7], kInf);
    EXPECT_EQ(y[8], kInf);
    EXPECT_EQ(y[9], kInf);
    EXPECT_TRUE(std::isnan(y[10]));
  }
}

TEST(VecExpTest, TailsWriteOnlyTheirLanes) {
  for (Isa isa : SupportedIsas()) {
    for (int64_t n = 0; n <= 40; ++n) {
      std::vector<float> x(48, 1.0f), y(48, -7.0f);
      Kernels(isa).exp2(x.data(), y.data(), n);
      for (int64_t i = 0; i < 48; ++i) ASSERT_EQ(y[i], i < n ? 2.0f : -7.0f) << IsaName(isa) << n;
    }
  }
}

TEST(IsaTest, BestIsaIsSupportedAndNamed) {
  EXPECT_TRUE(IsaSupported(BestIsa()));
  EXPECT_TRUE(IsaSupported(Isa::kSse2));
  EXPECT_STREQ(IsaName(Isa::kSse2), "sse2");
  EXPECT_STREQ(IsaName(Isa::kAvx2), "avx2");
  EXPECT_STREQ(IsaName(Isa::kAvx512), "avx512");
}

}  // namespace
}  // namespace spindle::kernels::cpu
