#include "common/data/sampler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <tuple>

namespace spindle::data {
namespace {

using ::testing::HasSubstr;

TEST(SamplerTest, EveryIndexOfAStepExactlyOnce) {
  for (auto [dp, mbs, acc] :
       {std::tuple{1, 1, 1}, {2, 1, 1}, {1, 2, 1}, {1, 1, 2}, {3, 2, 4}, {7, 3, 2}}) {
    const SamplerShape shape{dp, mbs, acc};
    ASSERT_TRUE(ValidateSamplerShape(shape).ok());
    const int64_t g = shape.global_batch_seqs();
    for (int64_t step : {0, 1, 1000}) {
      std::multiset<int64_t> seen;
      for (int m = 0; m < acc; ++m) {
        for (int r = 0; r < dp; ++r) {
          for (int64_t i : MicroBatchIndices(shape, step, m, r)) seen.insert(i);
        }
      }
      std::multiset<int64_t> want;
      for (int64_t j = 0; j < g; ++j) want.insert(step * g + j);
      EXPECT_EQ(seen, want) << "dp " << dp << " mbs " << mbs << " acc " << acc;
    }
  }
}

TEST(SamplerTest, StepSetDependsOnlyOnTheGlobalBatch) {
  auto step_set = [](SamplerShape shape, int64_t step) {
    std::set<int64_t> s;
    for (int m = 0; m < shape.accumulation_steps; ++m) {
      for (int r = 0; r < shape.dp; ++r) {
        for (int64_t i : MicroBatchIndices(shape, step, m, r)) s.insert(i);
      }
    }
    return s;
  };
  for (int64_t step : {0, 5}) {
    const std::set<int64_t> dp2 = step_set({2, 1, 1}, step);
    EXPECT_EQ(dp2, (std::set<int64_t>{2 * step, 2 * step + 1}));
    EXPECT_EQ(step_set({1, 2, 1}, step), dp2);
    EXPECT_EQ(step_set({1, 1, 2}, step), dp2);
    EXPECT_EQ(step_set({2, 2, 3}, step), step_set({3, 4, 1}, step));
  }
  // The documented row-major order: (micro_step, dp_rank, seq).
  const SamplerShape shape{2, 3, 2};
  EXPECT_EQ(GlobalSequenceIndex(shape, 1, 0, 1, 2), 12 + 5);
  EXPECT_EQ(GlobalSequenceIndex(shape, 1, 1, 0, 0), 12 + 6);
}

TEST(SamplerTest, RejectsDegreesBelowOne) {
  EXPECT_THAT(std::string(ValidateSamplerShape({1, 0, 1}).message()),
              HasSubstr("micro_batch_seqs is 0"));
  EXPECT_FALSE(ValidateSamplerShape({0, 1, 1}).ok());
  EXPECT_FALSE(ValidateSamplerShape({1, 1, -2}).ok());
}

}  // namespace
}  // namespace spindle::data
