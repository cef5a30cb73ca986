// MergeAttention: the -inf guards, equal and far-apart LSEs, and merging two
// disjoint key halves against attention over all keys.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/attention.h"
#include "kernels/cpu/thread_pool.h"
#include "tests/kernels/cpu/attention_test_util.h"

namespace spindle::kernels::testing {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// One row (b = s = h = 1) of width d.
struct Row {
  explicit Row(std::vector<float> o_in, float lse_in) : o(std::move(o_in)), lse(lse_in) {}
  std::vector<float> o;
  float lse;
};

absl::Status MergeRows(Row& running, const Row& blk) {
  MergeProblem m;
  const int64_t d = static_cast<int64_t>(running.o.size());
  m.o = {running.o.data(), d, d, d};
  m.lse = {&running.lse, 1, 1};
  m.o_blk = {blk.o.data(), d, d, d};
  m.lse_blk = {&blk.lse, 1, 1};
  m.b = m.s = m.h = 1;
  m.d = d;
  return MergeAttention(m, nullptr);
}

TEST(MergeTest, BothEmptyGivesZeroAndMinusInf) {
  Row run({1, 2, 3}, kNegInf);  // a stale output under lse = -inf is cleared
  ASSERT_TRUE(MergeRows(run, Row({0, 0, 0}, kNegInf)).ok());
  EXPECT_EQ(run.lse, kNegInf);
  EXPECT_EQ(run.o, (std::vector<float>{0, 0, 0}));
}

TEST(MergeTest, EmptyBlockLeavesTheRowAsItIs) {
  Row run({1.5f, -2, 3}, 0.25f);
  ASSERT_TRUE(MergeRows(run, Row({9, 9, 9}, kNegInf)).ok());
  EXPECT_EQ(run.lse, 0.25f);
  EXPECT_EQ(run.o, (std::vector<float>{1.5f, -2, 3}));
}

TEST(MergeTest, EmptyRunningRowTakesTheBlock) {
  Row run({0, 0, 0}, kNegInf);
  ASSERT_TRUE(MergeRows(run, Row({4, 5, -6}, 2.5f)).ok());
  EXPECT_EQ(run.lse, 2.5f);
  EXPECT_EQ(run.o, (std::vector<float>{4, 5, -6}));
}

TEST(MergeTest, EqualLsesAverageAndAddLn2) {
  Row run({1, 2, 3}, 0.5f);
  ASSERT_TRUE(MergeRows(run, Row({3, 2, 1}, 0.5f)).ok());
  EXPECT_NEAR(run.lse, 0.5 + std::log(2.0), 1e-6);
  for (float x : run.o) EXPECT_NEAR(x, 2.0, 1e-6);
}

TEST(MergeTest, HugeGapKeepsTheDominantSideWithoutNaN) {
  for (const float sign : {1.0f, -1.0f}) {
    const float a = 3.0f, b = 3.0f + sign * 1e4f;
    Row run({1, 2, 3}, a);
    ASSERT_TRUE(MergeRows(run, Row({7, 8, 9}, b)).ok());
    EXPECT_EQ(run.lse, std::max(a, b));
    EXPECT_EQ(run.o, sign > 0 ? (std::vector<float>{7, 8, 9}) : (std::vector<float>{1, 2, 3}));
  }
}

// Attention over keys [0, 70) merged with keys [70, 140) equals attention
// over all 140 keys, for causal GQA with masked rows among the queries.
TEST(MergeTest, TwoDisjointKeyHalvesMergeToAttentionOverAllKeys) {
  reference::Problem full;
  full.b = 2;
  full.s_q = 60;
  full.s_k = 140;
  full.h = 4;
  full.h_kv = 2;
  full.d = 40;
  full.causal = true;
  full.q_pos.resize(60);
  for (int64_t i = 0; i < 60; ++i) full.q_pos[i] = 2 * i + 5;  // rows past 139: padding
  full.valid_len = 110;
  const Inputs in(Case{"merge", full, /*strided=*/true, 5});
  const Results want = RunReference(in);
  const reference::Problem& r = in.problem;

  Bshd o(r.b, r.s_q, r.h, r.d, true), o_blk(r.b, r.s_q, r.h, r.d, true);
  Bhs lse(r.b, r.h, r.s_q, true), lse_blk(r.b, r.h, r.s_q, true);
  ThreadPool pool(2);
  const std::vector<int64_t> first = [] {
    std::vector<int64_t> p(70);
    for (int64_t j = 0; j < 70; ++j) p[j] = j;
    return p;
  }();
  std::vector<int64_t> second(70);
  for (int64_t j = 0; j < 70; ++j) second[j] = 70 + j;
  for (int half = 0; half < 2; ++half) {
    AttentionProblem p = in.KernelProblem();
    p.s_k = 70;
    p.k.data += half * 70 * p.k.row_stride;
    p.v.data += half * 70 * p.v.row_stride;
    p.k_pos = half == 0 ? first.data() : second.data();
    Bshd& ob = half == 0 ? o : o_blk;
    Bhs& lb = half == 0 ? lse : lse_blk;
    ASSERT_TRUE(AttentionForward(p, {ob.view(), lb.view()}, &pool).ok());
  }
  MergeProblem m{o.view(), lse.view(), o_blk.cview(), lse_blk.cview(), r.b, r.s_q, r.h, r.d};
  ASSERT_TRUE(MergeAttention(m, &pool).ok());
  EXPECT_LE(MaxAbsDiff(o.ToDouble(), want.o), 1e-5);
  EXPECT_LE(MaxAbsDiff(lse.ToDouble(), want.lse), 1e-5);
}

}  // namespace
}  // namespace spindle::kernels::testing
