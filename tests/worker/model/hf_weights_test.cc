#include "worker/model/hf_weights.h"

#include <torch/torch.h>

#include <fstream>

#include "common/formats/safetensors.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "worker/model/tensor_file.h"

namespace spindle::model {
namespace {

LlamaConfig Tiny(bool tied) {
  LlamaConfig c;
  c.tie_word_embeddings = tied;
  return c;
}

TEST(HfWeights, ExportImportRoundTripIsBitExact) {
  for (bool tied : {false, true}) {
    SCOPED_TRACE(tied ? "tied" : "untied");
    testing::TempDir dir;
    LlamaForCausalLM a(Tiny(tied));
    a->InitWeights(11);
    ASSERT_TRUE(ExportHf(a, dir.path()).ok());
    auto config = ReadHfConfig(dir.path());
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(ToHfConfigJson(*config), ToHfConfigJson(a->config()));
    LlamaForCausalLM b(*config);
    b->InitWeights(99);
    auto status = ImportHfWeights(dir.path(), b);
    ASSERT_TRUE(status.ok()) << status;
    auto pa = a->named_parameters(), pb = b->named_parameters();
    ASSERT_EQ(pa.size(), pb.size());
    for (const auto& item : pa) {
      EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
    }
  }
}

TEST(HfWeights, FileUsesHuggingFaceLlamaNamesAndShapes) {
  testing::TempDir dir;
  LlamaConfig c = Tiny(false);
  LlamaForCausalLM m(c);
  ASSERT_TRUE(ExportHf(m, dir.path()).ok());
  auto file = formats::SafetensorsFile::Open(dir.path() + "/model.safetensors");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->metadata().at("format"), "pt");
  const int64_t h = c.hidden_size, kv = c.num_key_value_heads * c.head_dim();
  const std::map<std::string, std::vector<int64_t>> expected = {
      {"model.embed_tokens.weight", {c.vocab_size, h}},
      {"model.layers.0.self_attn.q_proj.weight", {h, h}},
      {"model.layers.0.self_attn.k_proj.weight", {kv, h}},
      {"model.layers.0.self_attn.v_proj.weight", {kv, h}},
      {"model.layers.0.self_attn.o_proj.weight", {h, h}},
      {"model.layers.1.mlp.gate_proj.weight", {c.intermediate_size, h}},
      {"model.layers.1.mlp.up_proj.weight", {c.intermediate_size, h}},
      {"model.layers.1.mlp.down_proj.weight", {h, c.intermediate_size}},
      {"model.layers.1.input_layernorm.weight", {h}},
      {"model.layers.1.post_attention_layernorm.weight", {h}},
      {"model.norm.weight", {h}},
      {"lm_head.weight", {c.vocab_size, h}},
  };
  for (const auto& [name, shape] : expected) {
    auto t = file->Get(name);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ((*t)->shape, shape) << name;
    EXPECT_EQ((*t)->dtype, formats::DType::kF32) << name;
  }
  EXPECT_EQ(file->tensors().size(), 2 + 9 * 2 + 1u);
}

TEST(HfWeights, ImportsBf16AndShardedCheckpoints) {
  testing::TempDir dir;
  LlamaForCausalLM m(Tiny(false));
  m->InitWeights(3);
  // Two bf16 shards and an index, as transformers writes large models.
  NamedTensors first, second;
  std::string weight_map;
  for (auto& item : m->named_parameters()) {
    const bool in_first = item.key().find("layers.1") == std::string::npos;
    (in_first ? first : second).emplace_back(item.key(), item.value().to(at::kBFloat16));
    weight_map += (weight_map.empty() ? "" : ",") + std::string("\"") + item.key() + "\": \"" +
                  (in_first ? "a.safetensors" : "b.safetensors") + "\"";
  }
  ASSERT_TRUE(WriteTensorFile(dir.path() + "/a.safetensors", first).ok());
  ASSERT_TRUE(WriteTensorFile(dir.path() + "/b.safetensors", second).ok());
  std::ofstream(dir.path() + "/model.safetensors.index.json")
      << "{\"metadata\": {}, \"weight_map\": {" << weight_map << "}}";
  LlamaForCausalLM n(Tiny(false));
  auto status = ImportHfWeights(dir.path(), n);
  ASSERT_TRUE(status.ok()) << status;
  for (auto& item : m->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value().to(at::kBFloat16).to(at::kFloat),
                             n->named_parameters()[item.key()]))
        << item.key();
  }
}

TEST(HfWeights, MismatchesNameTheTensorAndTheFile) {
  testing::TempDir dir;
  LlamaForCausalLM small(Tiny(false));
  ASSERT_TRUE(ExportHf(small, dir.path()).ok());
  LlamaConfig wider = Tiny(false);
  wider.intermediate_size = 192;
  LlamaForCausalLM other(wider);
  absl::Status s = ImportHfWeights(dir.path(), other);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("model.safetensors"), std::string::npos) << s;
  EXPECT_NE(s.message().find("mlp.gate_proj.weight has shape [176, 64]"), std::string::npos) << s;

  LlamaConfig deeper = Tiny(false);
  deeper.num_hidden_layers = 3;
  LlamaForCausalLM three(deeper);
  s = ImportHfWeights(dir.path(), three);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("missing 9 tensor(s)"), std::string::npos) << s;

  s = ImportHfWeights(dir.path() + "/nowhere", small);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
}

}  // namespace
}  // namespace spindle::model
