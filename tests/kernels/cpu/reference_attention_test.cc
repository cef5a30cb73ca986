// The float64 oracle itself: closed-form cases, and its backward against
// central finite differences of its forward.
#include "kernels/cpu/reference_attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/kernels/cpu/attention_test_util.h"

namespace spindle::kernels::reference {
namespace {

TEST(ReferenceTest, SingleVisibleKeyCopiesItsValue) {
  Problem p;
  p.s_q = 1;
  p.s_k = 3;
  p.d = 2;
  p.scale = 1;
  p.causal = true;
  p.q_pos = {0};
  p.k_pos = {0, 5, 9};  // only key 0 is visible
  const ForwardResult r = Forward(p, {1, 2}, {3, 4, 0, 0, 0, 0}, {7, 8, 0, 0, 0, 0});
  EXPECT_EQ(r.o, (std::vector<double>{7, 8}));
  EXPECT_DOUBLE_EQ(r.lse[0], 1 * 3 + 2 * 4);
}

TEST(ReferenceTest, EqualScoresAverageAndMaskedRowsAreEmpty) {
  Problem p;
  p.s_q = 2;
  p.s_k = 2;
  p.d = 1;
  p.scale = 0.5;
  p.valid_len = 1;  // query 1 and key 1 are padding
  const ForwardResult r = Forward(p, {0, 1}, {1, 1}, {2, 4});
  EXPECT_EQ(r.o[0], 2);  // only key 0 visible to query 0
  EXPECT_EQ(r.lse[0], 0);
  EXPECT_EQ(r.o[1], 0);
  EXPECT_EQ(r.lse[1], -INFINITY);
  p.valid_len = 2;
  const ForwardResult all = Forward(p, {0, 1}, {1, 1}, {2, 4});
  EXPECT_DOUBLE_EQ(all.o[0], 3);
  EXPECT_DOUBLE_EQ(all.lse[0], std::log(2.0));
}

// L = Σ o ∘ d_o; each gradient entry against (L(x + h) - L(x - h)) / 2h.
TEST(ReferenceTest, BackwardMatchesFiniteDifferences) {
  Problem p;
  p.b = 2;
  p.s_q = 5;
  p.s_k = 6;
  p.h = 4;
  p.h_kv = 2;
  p.d = 3;
  p.scale = 0.7;
  p.causal = true;
  p.q_pos = {2, 3, 4, 5, 9};
  p.valid_len = 9;  // query 4 is padding
  auto q = testing::RandomNormal(p.b * p.s_q * p.h * p.d, 1);
  auto k = testing::RandomNormal(p.b * p.s_k * p.h_kv * p.d, 2);
  auto v = testing::RandomNormal(p.b * p.s_k * p.h_kv * p.d, 3);
  const auto d_o = testing::RandomNormal(p.b * p.s_q * p.h * p.d, 4);
  const Gradients g = Backward(p, q, k, v, d_o);
  auto loss = [&] {
    const ForwardResult f = Forward(p, q, k, v);
    double sum = 0;
    for (size_t i = 0; i < f.o.size(); ++i) sum += f.o[i] * d_o[i];
    return sum;
  };
  constexpr double kH = 1e-6;
  for (auto [x, grad] : {std::pair{&q, &g.dq}, std::pair{&k, &g.dk}, std::pair{&v, &g.dv}}) {
    for (size_t i = 0; i < x->size(); ++i) {
      const double keep = (*x)[i];
      (*x)[i] = keep + kH;
      const double up = loss();
      (*x)[i] = keep - kH;
      const double down = loss();
      (*x)[i] = keep;
      ASSERT_NEAR((*grad)[i], (up - down) / (2 * kH), 1e-7) << i;
    }
  }
  double dq_masked = 0;  // the padded query has no gradient
  for (int64_t c = 0; c < p.h * p.d; ++c) dq_masked += std::abs(g.dq[4 * p.h * p.d + c]);
  EXPECT_EQ(dq_masked, 0);
}

}  // namespace
}  // namespace spindle::kernels::reference
