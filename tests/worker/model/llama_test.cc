// The Llama decoder against an independent plain-libtorch implementation of
// the same math (HF conventions), parameter naming, deterministic init, and
// the activation-checkpointing modes: identical gradients, and attention
// forward re-run only in full mode.
#include "worker/model/llama.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>

namespace spindle::model {
namespace {

LlamaConfig Tiny() {
  LlamaConfig c;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.vocab_size = 50;
  return c;
}

std::shared_ptr<sp::SpAttention> LocalAttention(const LlamaConfig& c, int64_t seq_len) {
  auto layout = layout::SequenceLayout::Create(layout::LayoutKind::kContiguous, seq_len, 1, 1);
  sp::SpAttentionOptions o;
  o.h = static_cast<int>(c.num_attention_heads);
  o.h_kv = static_cast<int>(c.num_key_value_heads);
  auto attention = sp::SpAttention::Create(*layout, o);
  EXPECT_TRUE(attention.ok()) << attention.status();
  return *attention;
}

// Hugging Face's LlamaForCausalLM forward, written out in plain ops.
at::Tensor ReferenceLogits(LlamaForCausalLM& m, const at::Tensor& ids) {
  const LlamaConfig& c = m->config();
  const int64_t b = ids.size(0), l = ids.size(1), h = c.num_attention_heads,
                hkv = c.num_key_value_heads, d = c.head_dim();
  auto p = m->named_parameters();
  auto rms = [&](const at::Tensor& x, const std::string& name) {
    return p[name] * x * at::rsqrt(x.pow(2).mean(-1, true) + c.rms_norm_eps);
  };
  at::Tensor pos = at::arange(l, at::kFloat);
  at::Tensor inv = 1.0 / at::pow(c.rope_theta, at::arange(0, d, 2, at::kFloat) / d);
  at::Tensor emb = at::cat({at::outer(pos, inv), at::outer(pos, inv)}, -1);  // (l, d)
  at::Tensor cos = emb.cos().view({1, 1, l, d}), sin = emb.sin().view({1, 1, l, d});
  auto rope = [&](const at::Tensor& x) {  // (b, heads, l, d)
    at::Tensor rot = at::cat({-x.narrow(-1, d / 2, d / 2), x.narrow(-1, 0, d / 2)}, -1);
    return x * cos + rot * sin;
  };
  at::Tensor x = p["model.embed_tokens.weight"].index_select(0, ids.flatten()).view({b, l, -1});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string pre = "model.layers." + std::to_string(i) + ".";
    at::Tensor n = rms(x, pre + "input_layernorm.weight");
    auto proj = [&](const char* w, int64_t heads) {
      return at::matmul(n, p[pre + w].t()).view({b, l, heads, d}).transpose(1, 2);
    };
    at::Tensor q = rope(proj("self_attn.q_proj.weight", h));
    at::Tensor k = rope(proj("self_attn.k_proj.weight", hkv)).repeat_interleave(h / hkv, 1);
    at::Tensor v = proj("self_attn.v_proj.weight", hkv).repeat_interleave(h / hkv, 1);
    at::Tensor s = at::matmul(q, k.transpose(-1, -2)) / std::sqrt(double(d));
    s = s.masked_fill(at::ones({l, l}, at::kBool).triu(1), -INFINITY);
    at::Tensor o = at::matmul(at::softmax(s, -1), v).transpose(1, 2).reshape({b, l, h * d});
    x = x + at::matmul(o, p[pre + "self_attn.o_proj.weight"].t());
    at::Tensor n2 = rms(x, pre + "post_attention_layernorm.weight");
    at::Tensor g = at::matmul(n2, p[pre + "mlp.gate_proj.weight"].t());
    at::Tensor u = at::matmul(n2, p[pre + "mlp.up_proj.weight"].t());
    x = x + at::matmul(torch::silu(g) * u, p[pre + "mlp.down_proj.weight"].t());
  }
  x = rms(x, "model.norm.weight");
  const std::string head = c.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  return at::matmul(x, p[head].t());
}

TEST(LlamaTest, MatchesAPlainImplementationOfTheHuggingFaceForward) {
  for (bool tied : {false, true}) {
    LlamaConfig c = Tiny();
    c.tie_word_embeddings = tied;
    LlamaForCausalLM m(c);
    m->InitWeights(3);
    const int64_t l = 37;
    at::Tensor ids = at::randint(c.vocab_size, {2, l}, at::kLong);
    std::vector<int64_t> positions(l);
    for (int64_t i = 0; i < l; ++i) positions[i] = i;
    at::Tensor logits = m->forward(ids, MakeRope(positions, c.head_dim(), c.rope_theta),
                                   LocalAttention(c, l), Checkpointing::kNone);
    torch::NoGradGuard no_grad;
    at::Tensor want = ReferenceLogits(m, ids);
    EXPECT_LT((logits - want).abs().max().item<double>(), 2e-5) << "tied=" << tied;
  }
}

TEST(LlamaTest, ParametersCarryHuggingFaceNames) {
  LlamaForCausalLM m(Tiny());
  std::set<std::string> names;
  for (const auto& item : m->named_parameters()) names.insert(item.key());
  for (const char* want :
       {"model.embed_tokens.weight", "model.layers.1.self_attn.q_proj.weight",
        "model.layers.1.self_attn.k_proj.weight", "model.layers.0.self_attn.o_proj.weight",
        "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.down_proj.weight",
        "model.layers.1.input_layernorm.weight", "model.layers.1.post_attention_layernorm.weight",
        "model.norm.weight", "lm_head.weight"}) {
    EXPECT_TRUE(names.count(want)) << want;
  }
  EXPECT_EQ(static_cast<int64_t>(names.size()), 2 * 9 + 3);
  int64_t count = 0;
  for (const auto& p : m->parameters()) count += p.numel();
  EXPECT_EQ(count, Tiny().NumParameters());
}

TEST(LlamaTest, InitIsAFunctionOfTheSeed) {
  LlamaForCausalLM a(Tiny()), b(Tiny()), c(Tiny());
  a->InitWeights(7);
  b->InitWeights(7);
  c->InitWeights(8);
  auto pa = a->named_parameters(), pb = b->named_parameters(), pc = c->named_parameters();
  for (const auto& item : pa) {
    EXPECT_TRUE(at::equal(item.value(), pb[item.key()])) << item.key();
    if (item.key().find("norm") == std::string::npos) {
      EXPECT_FALSE(at::equal(item.value(), pc[item.key()])) << item.key();
    }
  }
}

TEST(LlamaTest, CheckpointingModesGiveIdenticalGradientsAndCountAttentionForwards) {
  const LlamaConfig c = Tiny();
  const int64_t l = 29;
  at::Tensor ids = at::randint(c.vocab_size, {1, l}, at::kLong);
  std::vector<int64_t> positions(l);
  for (int64_t i = 0; i < l; ++i) positions[i] = i;
  const RopeTables rope = MakeRope(positions, c.head_dim(), c.rope_theta);
  std::map<std::string, at::Tensor> reference;
  for (Checkpointing mode : {Checkpointing::kNone, Checkpointing::kFull, Checkpointing::kAttention}) {
    LlamaForCausalLM m(c);
    m->InitWeights(11);
    auto attention = LocalAttention(c, l);
    at::Tensor logits = m->forward(ids, rope, attention, mode);
    const int64_t forward_calls = attention->forward_calls();
    logits.pow(2).mean().backward();
    const int64_t after_backward = attention->forward_calls();
    EXPECT_EQ(forward_calls, c.num_hidden_layers) << CheckpointingName(mode);
    EXPECT_EQ(after_backward - forward_calls, mode == Checkpointing::kFull ? c.num_hidden_layers : 0)
        << CheckpointingName(mode) << ": attention forwards re-run in backward";
    for (const auto& item : m->named_parameters()) {
      ASSERT_TRUE(item.value().grad().defined()) << item.key();
      if (mode == Checkpointing::kNone) {
        reference[item.key()] = item.value().grad().clone();
      } else {
        EXPECT_TRUE(at::allclose(item.value().grad(), reference[item.key()], 1e-6, 1e-7))
            << CheckpointingName(mode) << " " << item.key();
      }
    }
  }
}

TEST(LlamaConfigTest, HfConfigJsonRoundTripsAndBadFieldsAreNamed) {
  LlamaConfig c = Tiny();
  c.tie_word_embeddings = true;
  c.rope_theta = 500000;
  auto back = ParseHfConfigJson(ToHfConfigJson(c), "config.json");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->hidden_size, c.hidden_size);
  EXPECT_EQ(back->num_key_value_heads, c.num_key_value_heads);
  EXPECT_EQ(back->rope_theta, c.rope_theta);
  EXPECT_TRUE(back->tie_word_embeddings);
  auto bad = ParseHfConfigJson(R"({"hidden_size": 30, "intermediate_size": 64,
      "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 3,
      "vocab_size": "many"})",
                               "ckpt/config.json");
  ASSERT_FALSE(bad.ok());
  const std::string msg(bad.status().message());
  EXPECT_NE(msg.find("ckpt/config.json: vocab_size: must be an integer"), std::string::npos) << msg;
  EXPECT_FALSE(ParseHfConfigJson("{nope", "x").ok());
}

}  // namespace
}  // namespace spindle::model
