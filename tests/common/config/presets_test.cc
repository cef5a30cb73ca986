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

  ModelSpec one_b;
  ASSERT_TRUE(ApplyModelPreset("llama-1b", &one_b));
  EXPECT_EQ(one_b.hidden_size / one_b.num_attention_heads, 64);
  // TinyLlama-1.1B: 2 × 65,536,000 embedding and lm_head + 22 × 44,044,288
  // per layer + 2048 final norm.
  EXPECT_EQ(LlamaParameterCount(one_b), 1100048384);
  EXPECT_EQ(LlamaParameterCount(one_b), 2 * int64_t{65536000} + 22 * int64_t{44044288} + 2048);

  ModelSpec llama;
  ASSERT_TRUE(ApplyModelPreset("llama3-8b", &llama));
  EXPECT_EQ(llama.num_key_value_heads, 8);
  EXPECT_EQ(llama.rope_theta, 500000.0);
  EXPECT_FALSE(llama.tie_word_embeddings);
  // Meta's Llama-3-8B: 2 × 525,336,576 embedding and lm_head + 32 × 218,112,000
  // per layer + 4096 final norm.
  EXPECT_EQ(LlamaParameterCount(llama), 8030261248);
  EXPECT_EQ(LlamaParameterCount(llama), 2 * int64_t{525336576} + 32 * int64_t{218112000} + 4096);

  // A preset sets rope_theta itself: switching from llama3-8b resets it.
  ASSERT_TRUE(ApplyModelPreset("tiny", &llama));
  EXPECT_EQ(llama.rope_theta, 10000.0);
}

TEST(PresetsTest, UnknownPresetLeavesTheModelAlone) {
  ModelSpec m;
  m.hidden_size = 7;
  EXPECT_FALSE(ApplyModelPreset("medium", &m));
  EXPECT_EQ(m.hidden_size, 7);
  EXPECT_EQ(m.preset, "");
  EXPECT_EQ(ModelPresetNames(),
            (std::vector<std::string>{"tiny", "small-100m", "llama-1b", "llama3-8b"}));
}

}  // namespace
}  // namespace spindle::config
