#include "common/config/presets.h"

#include <gtest/gtest.h>

namespace spindle::config {
namespace {

TEST(PresetsTest, ParameterCountsMatchTheHeader) {
  ModelSpec tiny;
  ASSERT_TRUE(ApplyModelPreset("tiny", &tiny));
  EXPECT_EQ(tiny.preset, "tiny");
  EXPECT_EQ(LlamaParameterCount(tiny), 125248);

  ModelSpec small;
  ASSERT_TRUE(ApplyModelPreset("small-100m", &small));
  EXPECT_EQ(LlamaParameterCount(small), 100092672);
  // 24,576,000 embedding + 12 × 6,292,992 per layer + 768 final norm.
  EXPECT_EQ(LlamaParameterCount(small), 24576000 + 12 * int64_t{6292992} + 768);
  small.tie_word_embeddings = false;  // adds an lm_head the size of the embedding
  EXPECT_EQ(LlamaParameterCount(small), 100092672 + 24576000);
}

TEST(PresetsTest, UnknownPresetLeavesTheModelAlone) {
  ModelSpec m;
  m.hidden_size = 7;
  EXPECT_FALSE(ApplyModelPreset("medium", &m));
  EXPECT_EQ(m.hidden_size, 7);
  EXPECT_EQ(m.preset, "");
  EXPECT_EQ(ModelPresetNames(), (std::vector<std::string>{"tiny", "small-100m"}));
}

}  // namespace
}  // namespace spindle::config
