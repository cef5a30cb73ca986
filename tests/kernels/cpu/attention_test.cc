// The CPU kernels against the float64 reference: forward o and lse, backward
// dq, dk, dv, for odd sizes, head layouts, masks and ring/zigzag/striped
// positions, on every ISA this CPU runs. Tolerance: 1e-5 absolute (C3).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/cpu/thread_pool.h"
#include "tests/kernels/cpu/attention_test_util.h"

namespace spindle::kernels::testing {
namespace {

constexpr double kTol = 1e-5;

std::vector<cpu::Isa> SupportedIsas() {
  std::vector<cpu::Isa> isas;
  for (cpu::Isa isa : {cpu::Isa::kSse2, cpu::Isa::kAvx2, cpu::Isa::kAvx512}) {
    if (cpu::IsaSupported(isa)) isas.push_back(isa);
  }
  return isas;
}

reference::Problem Shape(int64_t b, int64_t s_q, int64_t s_k, int64_t h, int64_t h_kv, int64_t d,
                         bool causal) {
  reference::Problem p;
  p.b = b;
  p.s_q = s_q;
  p.s_k = s_k;
  p.h = h;
  p.h_kv = h_kv;
  p.d = d;
  p.causal = causal;
  return p;
}

std::vector<int64_t> Range(int64_t begin, int64_t n, int64_t step = 1) {
  std::vector<int64_t> pos(n);
  for (int64_t i = 0; i < n; ++i) pos[i] = begin + i * step;
  return pos;
}

// Zigzag (sp-algorithms.md §3): rank r of P holds chunks r and 2P-1-r of c.
std::vector<int64_t> Zigzag(int64_t r, int64_t P, int64_t c) {
  std::vector<int64_t> pos = Range(r * c, c);
  const std::vector<int64_t> tail = Range((2 * P - 1 - r) * c, c);
  pos.insert(pos.end(), tail.begin(), tail.end());
  return pos;
}

Case Make(std::string name, reference::Problem p, bool strided = false, uint64_t seed = 1) {
  return Case{std::move(name), std::move(p), strided, seed};
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  cases.push_back(Make("single_token_d8", Shape(1, 1, 1, 1, 1, 8, true)));
  cases.push_back(Make("mha_s33_d64_full", Shape(2, 33, 33, 2, 2, 64, false)));
  cases.push_back(Make("mha_s33_d64_causal", Shape(2, 33, 33, 2, 2, 64, true)));
  cases.push_back(Make("sq7_sk130_d40_5heads", Shape(1, 7, 130, 5, 5, 40, false)));
  cases.push_back(Make("sq130_sk7_d40_causal", Shape(1, 130, 7, 5, 5, 40, true)));
  cases.push_back(Make("gqa4_s257_d128_causal", Shape(1, 257, 257, 8, 2, 128, true)));
  cases.push_back(Make("gqa6_12by2_s130_d72_causal", Shape(1, 130, 130, 12, 2, 72, true)));
  cases.push_back(Make("mqa_7heads_sq257_sk130_d40", Shape(1, 257, 130, 7, 1, 40, false)));
  cases.push_back(Make("mqa_5heads_s200_d64_causal", Shape(2, 200, 200, 5, 1, 64, true)));
  cases.push_back(Make("d8_7heads_s257_causal", Shape(1, 257, 257, 7, 7, 8, true)));
  cases.push_back(Make("d128_s130_full", Shape(1, 130, 130, 3, 3, 128, false)));
  // Head dims that are no multiple of any vector width: every tail path.
  cases.push_back(Make("d13_s100_causal", Shape(1, 100, 100, 3, 1, 13, true)));
  cases.push_back(Make("d70_s77_full", Shape(1, 77, 120, 2, 2, 70, false), /*strided=*/true));
  cases.push_back(Make("d3_s50_causal", Shape(2, 50, 50, 2, 2, 3, true)));

  // Ring steps, contiguous layout: this rank's q block is [130, 260).
  reference::Problem before = Shape(1, 130, 130, 4, 2, 64, true);
  before.q_pos = Range(130, 130);
  before.k_pos = Range(0, 130);
  cases.push_back(Make("ring_kv_before_q_is_full", before));
  reference::Problem after = before;
  after.k_pos = Range(260, 130);
  cases.push_back(Make("ring_kv_after_q_is_masked", after));
  reference::Problem diagonal = before;
  diagonal.k_pos = Range(130, 130);
  cases.push_back(Make("ring_diagonal_block", diagonal));

  // Zigzag, P = 2, c = 65: rank 0 holds [0,65) ∪ [195,260), rank 1 [65,195).
  reference::Problem zz = Shape(1, 130, 130, 2, 2, 64, true);
  zz.q_pos = Zigzag(0, 2, 65);
  zz.k_pos = Zigzag(1, 2, 65);
  cases.push_back(Make("zigzag_rank0_q_rank1_kv", zz));
  zz.q_pos = Zigzag(1, 2, 65);
  zz.k_pos = Zigzag(0, 2, 65);
  cases.push_back(Make("zigzag_rank1_q_rank0_kv", zz));
  zz.k_pos = Range(0, 65);  // a half block: first chunk of rank 0
  zz.s_k = 65;
  cases.push_back(Make("zigzag_half_kv", zz));

  // Striped, P = 4: rank r holds positions 4i + r.
  reference::Problem st = Shape(1, 100, 100, 3, 3, 40, true);
  st.q_pos = Range(1, 100, 4);
  st.k_pos = Range(3, 100, 4);  // src rank 3 > r = 1: strictly causal step
  cases.push_back(Make("striped_strictly_causal", st));
  st.k_pos = Range(0, 100, 4);  // src rank 0 <= r: causal with the diagonal
  cases.push_back(Make("striped_causal_diagonal", st));

  // Padding: positions >= valid_len are masked rows / invisible keys.
  reference::Problem pad = Shape(2, 130, 130, 2, 1, 64, true);
  pad.valid_len = 100;
  cases.push_back(Make("valid_len_causal", pad));
  pad.causal = false;
  pad.valid_len = 37;
  cases.push_back(Make("valid_len_full", pad));
  pad.valid_len = 0;
  cases.push_back(Make("valid_len_zero_all_masked", pad));

  // Arbitrary positions: a permutation makes every tile partial.
  reference::Problem perm = Shape(1, 150, 150, 2, 2, 24, true);
  perm.q_pos = Range(0, 150);
  std::reverse(perm.q_pos.begin(), perm.q_pos.end());
  perm.k_pos = Range(0, 150, 7);
  for (int64_t& x : perm.k_pos) x %= 151;
  cases.push_back(Make("permuted_positions", perm));
  // Descending keys: low queries see nothing in the first key tiles, only in
  // later ones (the online softmax must start from an empty row cleanly).
  reference::Problem desc = Shape(1, 150, 150, 2, 2, 32, true);
  desc.k_pos = Range(0, 150);
  std::reverse(desc.k_pos.begin(), desc.k_pos.end());
  cases.push_back(Make("descending_key_positions", desc));

  cases.push_back(Make("strided_gqa4_s130_d40_causal", Shape(2, 130, 130, 4, 1, 40, true),
                       /*strided=*/true));
  cases.push_back(Make("strided_mha_s97_d64_full", Shape(1, 97, 161, 3, 3, 64, false),
                       /*strided=*/true));
  return cases;
}

class AttentionVsReference : public ::testing::TestWithParam<Case> {};

TEST_P(AttentionVsReference, ForwardAndBackwardWithin1e5OnEveryIsa) {
  const Inputs in(GetParam());
  const Results want = RunReference(in);
  ThreadPool pool(2);
  for (cpu::Isa isa : SupportedIsas()) {
    SCOPED_TRACE(cpu::IsaName(isa));
    Results got;
    ASSERT_TRUE(RunKernel(isa, in, &pool, &got).ok());
    EXPECT_LE(MaxAbsDiff(got.o, want.o), kTol);
    EXPECT_LE(MaxAbsDiff(got.lse, want.lse), kTol);  // -inf must match -inf exactly
    EXPECT_LE(MaxAbsDiff(got.dq, want.dq), kTol);
    EXPECT_LE(MaxAbsDiff(got.dk, want.dk), kTol);
    EXPECT_LE(MaxAbsDiff(got.dv, want.dv), kTol);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, AttentionVsReference, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

TEST(AttentionTest, KvAfterQueriesGivesZeroOutputMinusInfLseAndZeroGrads) {
  reference::Problem p = Shape(1, 70, 70, 2, 1, 32, true);
  p.q_pos = Range(0, 70);
  p.k_pos = Range(70, 70);
  const Inputs in(Make("after", p));
  Results got;
  ASSERT_TRUE(RunKernel(cpu::BestIsa(), in, nullptr, &got).ok());
  for (double x : got.o) ASSERT_EQ(x, 0.0);
  for (double x : got.lse) ASSERT_EQ(x, -INFINITY);
  for (const auto* g : {&got.dq, &got.dk, &got.dv}) {
    for (double x : *g) ASSERT_EQ(x, 0.0);  // also: no NaN
  }
}

// Every output bit equal for pool = nullptr, 2 and 3 threads, including the
// backward path that splits q into chunks (b·h_kv < 8) and reduces dk/dv.
TEST(AttentionTest, ResultsAreBitwiseIndependentOfThePool) {
  for (const reference::Problem& p :
       {Shape(1, 300, 300, 4, 1, 64, true), Shape(2, 200, 150, 8, 8, 40, false)}) {
    const Inputs in(Make("det", p));
    Results base, two, three;
    ASSERT_TRUE(RunKernel(cpu::BestIsa(), in, nullptr, &base).ok());
    ThreadPool pool2(2), pool3(3);
    ASSERT_TRUE(RunKernel(cpu::BestIsa(), in, &pool2, &two).ok());
    ASSERT_TRUE(RunKernel(cpu::BestIsa(), in, &pool3, &three).ok());
    for (const Results* r : {&two, &three}) {
      EXPECT_EQ(r->o, base.o);
      EXPECT_EQ(r->lse, base.lse);
      EXPECT_EQ(r->dq, base.dq);
      EXPECT_EQ(r->dk, base.dk);
      EXPECT_EQ(r->dv, base.dv);
    }
  }
}

// q, k, v as slices of one packed (b, s, h + 2·h_kv, d) qkv buffer, and o
// with a padded row stride: bit for bit what contiguous tensors give (the
// arithmetic does not depend on strides).
TEST(AttentionTest, PackedQkvSlicesMatchContiguousTensorsBitwise) {
  const reference::Problem shape = Shape(2, 100, 100, 4, 2, 40, true);
  const Inputs in(Make("qkv", shape));
  Results want;
  ASSERT_TRUE(RunKernel(cpu::BestIsa(), in, nullptr, &want).ok());

  const int64_t b = 2, s = 100, h = 4, h_kv = 2, d = 40, heads = h + 2 * h_kv;
  std::vector<float> qkv(b * s * heads * d);
  const BshdView<const float> q_src = in.q.cview(), k_src = in.k.cview(), v_src = in.v.cview();
  auto at = [&](const BshdView<const float>& x, int64_t bi, int64_t i, int64_t hh) {
    return x.data + bi * x.batch_stride + i * x.row_stride + hh * x.head_stride;
  };
  for (int64_t bi = 0; bi < b; ++bi) {
    for (int64_t i = 0; i < s; ++i) {
      float* row = &qkv[(bi * s + i) * heads * d];
      for (int64_t hh = 0; hh < h; ++hh) std::copy_n(at(q_src, bi, i, hh), d, row + hh * d);
      for (int64_t hh = 0; hh < h_kv; ++hh) {
        std::copy_n(at(k_src, bi, i, hh), d, row + (h + hh) * d);
        std::copy_n(at(v_src, bi, i, hh), d, row + (h + h_kv + hh) * d);
      }
    }
  }
  AttentionProblem p = in.KernelProblem();
  p.q = {qkv.data(), s * heads * d, heads * d, d};
  p.k = {qkv.data() + h * d, s * heads * d, heads * d, d};
  p.v = {qkv.data() + (h + h_kv) * d, s * heads * d, heads * d, d};
  Bshd o(b, s, h, d, /*strided=*/true);
  Bhs lse(b, h, s, /*strided=*/true);
  ASSERT_TRUE(AttentionForward(p, {o.view(), lse.view()}, nullptr).ok());
  EXPECT_EQ(o.ToDouble(), want.o);
  EXPECT_EQ(lse.ToDouble(), want.lse);
}

// accumulate = true adds to what dq, dk, dv hold, on both dk/dv paths (owned
// outright with 8 groups; chunked partial sums with 1 group).
TEST(AttentionTest, BackwardAccumulatesIntoExistingGradients) {
  for (const reference::Problem& p :
       {Shape(1, 130, 100, 8, 8, 40, true), Shape(1, 200, 100, 3, 1, 64, true)}) {
    const Inputs in(Make("acc", p, /*strided=*/true, /*seed=*/7));
    const Results want = RunReference(in);
    const reference::Problem& r = in.problem;
    const AttentionProblem kp = in.KernelProblem();
    Bshd o(r.b, r.s_q, r.h, r.d, true);
    Bhs lse(r.b, r.h, r.s_q, true);
    ThreadPool pool(2);
    ASSERT_TRUE(AttentionForward(kp, {o.view(), lse.view()}, &pool).ok());
    Bshd dq(r.b, r.s_q, r.h, r.d, true), dk(r.b, r.s_k, r.h_kv, r.d, true),
        dv(r.b, r.s_k, r.h_kv, r.d, true);
    const std::vector<double> dq0 = RandomNormal(want.dq.size(), 11);
    const std::vector<double> dk0 = RandomNormal(want.dk.size(), 12);
    const std::vector<double> dv0 = RandomNormal(want.dv.size(), 13);
    dq.FromDouble(dq0);
    dk.FromDouble(dk0);
    dv.FromDouble(dv0);
    ASSERT_TRUE(AttentionBackward(kp, {o.cview(), in.d_o.cview(), lse.cview()},
                                  {dq.view(), dk.view(), dv.view(), /*accumulate=*/true}, &pool)
                    .ok());
    auto plus = [](std::vector<double> a, const std::vector<double>& b) {
      for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
      return a;
    };
    EXPECT_LE(MaxAbsDiff(dq.ToDouble(), plus(dq0, want.dq)), kTol);
    EXPECT_LE(MaxAbsDiff(dk.ToDouble(), plus(dk0, want.dk)), kTol);
    EXPECT_LE(MaxAbsDiff(dv.ToDouble(), plus(dv0, want.dv)), kTol);
  }
}

// Ring steps with the global o and lse: block gradients simply add up.
TEST(AttentionTest, BlockGradientsFromGlobalStatisticsSumToTheFullGradient) {
  reference::Problem full = Shape(1, 90, 180, 4, 2, 40, true);
  full.q_pos = Range(90, 90);
  const Inputs in(Make("blocks", full, false, 3));
  const Results want = RunReference(in);
  const reference::Problem& r = in.problem;
  const AttentionProblem kp = in.KernelProblem();
  Bshd o(r.b, r.s_q, r.h, r.d, false);
  Bhs lse(r.b, r.h, r.s_q, false);
  ASSERT_TRUE(AttentionForward(kp, {o.view(), lse.view()}, nullptr).ok());
  Bshd dq(r.b, r.s_q, r.h, r.d, false), dk(r.b, r.s_k, r.h_kv, r.d, false),
      dv(r.b, r.s_k, r.h_kv, r.d, false);
  dq.Fill(0);
  dk.Fill(0);
  dv.Fill(0);
  for (int block = 0; block < 2; ++block) {  // keys [0, 90), then [90, 180)
    AttentionProblem bp = kp;
    bp.s_k = 90;
    const int64_t offset = block * 90 * kp.k.row_stride;
    bp.k.data += offset;
    bp.v.data += offset;
    const std::vector<int64_t> k_pos = Range(block * 90, 90);
    bp.k_pos = k_pos.data();
    BshdView<float> dkb = dk.view(), dvb = dv.view();
    dkb.data += offset;
    dvb.data += offset;
    ASSERT_TRUE(AttentionBackward(bp, {o.cview(), in.d_o.cview(), lse.cview()},
                                  {dq.view(), dkb, dvb, /*accumulate=*/true}, nullptr)
                    .ok());
  }
  EXPECT_LE(MaxAbsDiff(dq.ToDouble(), want.dq), kTol);
  EXPECT_LE(MaxAbsDiff(dk.ToDouble(), want.dk), kTol);
  EXPECT_LE(MaxAbsDiff(dv.ToDouble(), want.dv), kTol);
}

}  // namespace
}  // namespace spindle::kernels::testing
