#include "worker/model/llama.h"

#include <torch/torch.h>

#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "worker/model/recompute.h"

namespace spindle::model {
namespace {

torch::nn::Linear Proj(int64_t in, int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}

uint64_t Mix(uint64_t x) {  // splitmix64 finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

const char* CheckpointingName(Checkpointing c) {
  switch (c) {
    case Checkpointing::kNone:
      return "none";
    case Checkpointing::kFull:
      return "full";
    case Checkpointing::kAttention:
      return "attention";
  }
  return "unknown";
}

absl::StatusOr<Checkpointing> ParseCheckpointing(const std::string& name) {
  for (Checkpointing c : {Checkpointing::kNone, Checkpointing::kFull, Checkpointing::kAttention}) {
    if (name == CheckpointingName(c)) return c;
  }
  return absl::InvalidArgumentError(absl::StrCat("activation_checkpointing: unknown mode '", name,
                                                 "'; use none, full or attention"));
}

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  at::Tensor x32 = x.to(at::kFloat);
  at::Tensor normed = x32 * at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return weight * normed.to(x.scalar_type());
}

LlamaAttentionImpl::LlamaAttentionImpl(const LlamaConfig& c)
    : h_(c.num_attention_heads), h_kv_(c.num_key_value_heads), d_(c.head_dim()) {
  q_proj = register_module("q_proj", Proj(c.hidden_size, h_ * d_));
  k_proj = register_module("k_proj", Proj(c.hidden_size, h_kv_ * d_));
  v_proj = register_module("v_proj", Proj(c.hidden_size, h_kv_ * d_));
  o_proj = register_module("o_proj", Proj(h_ * d_, c.hidden_size));
}

std::vector<at::Tensor> LlamaAttentionImpl::Project(const at::Tensor& x, const RopeTables& rope) {
  const int64_t b = x.size(0), l = x.size(1);
  at::Tensor q = q_proj(x).view({b, l, h_, d_});
  at::Tensor k = k_proj(x).view({b, l, h_kv_, d_});
  at::Tensor v = v_proj(x).view({b, l, h_kv_, d_});
  return {ApplyRope(q, rope), ApplyRope(k, rope), v};
}

LlamaMLPImpl::LlamaMLPImpl(const LlamaConfig& c) {
  gate_proj = register_module("gate_proj", Proj(c.hidden_size, c.intermediate_size));
  up_proj = register_module("up_proj", Proj(c.hidden_size, c.intermediate_size));
  down_proj = register_module("down_proj", Proj(c.intermediate_size, c.hidden_size));
}

at::Tensor LlamaMLPImpl::forward(const at::Tensor& x) {
  return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
}

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const LlamaConfig& c) {
  self_attn = register_module("self_attn", LlamaAttention(c));
  mlp = register_module("mlp", LlamaMLP(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

at::Tensor LlamaDecoderLayerImpl::forward(const at::Tensor& x, const RopeTables& rope,
                                          const std::shared_ptr<const sp::SpAttention>& attention,
                                          Checkpointing mode) {
  // The segments capture by value: Recompute calls them again in backward.
  // Module handles are reference-counted; the layer outlives its graphs.
  auto attn = self_attn;
  auto mlp_module = mlp;
  auto norm1 = input_layernorm, norm2 = post_attention_layernorm;
  Segment project = [attn, norm1, rope](const std::vector<at::Tensor>& in) mutable {
    return attn->Project(norm1(in[0]), rope);
  };
  Segment finish = [attn, mlp_module, norm2](const std::vector<at::Tensor>& in) mutable {
    // in: the layer input (b, L, hidden) and the attention output (b, L, h, d).
    at::Tensor h = in[0] + attn->o_proj(in[1].flatten(2));
    return std::vector<at::Tensor>{h + mlp_module(norm2(h))};
  };
  switch (mode) {
    case Checkpointing::kNone: {
      std::vector<at::Tensor> qkv = project({x});
      return finish({x, attention->Forward(qkv[0], qkv[1], qkv[2])})[0];
    }
    case Checkpointing::kFull: {
      Segment whole = [project, finish, attention](const std::vector<at::Tensor>& in) {
        std::vector<at::Tensor> qkv = project(in);
        return finish({in[0], attention->Forward(qkv[0], qkv[1], qkv[2])});
      };
      return Recompute(whole, {x})[0];
    }
    case Checkpointing::kAttention: {
      std::vector<at::Tensor> qkv = Recompute(project, {x});
      at::Tensor o = attention->Forward(qkv[0], qkv[1], qkv[2]);
      return Recompute(finish, {x, o})[0];
    }
  }
  return at::Tensor();
}

LlamaModelImpl::LlamaModelImpl(const LlamaConfig& c) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(LlamaDecoderLayer(c));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

LlamaForCausalLMImpl::LlamaForCausalLMImpl(const LlamaConfig& c) : config_(c) {
  model = register_module("model", LlamaModel(c));
  if (!c.tie_word_embeddings)
    lm_head = register_module("lm_head", Proj(c.hidden_size, c.vocab_size));
}

at::Tensor LlamaForCausalLMImpl::forward(const at::Tensor& ids, const RopeTables& rope,
                                         const std::shared_ptr<const sp::SpAttention>& attention,
                                         Checkpointing mode) {
  at::Tensor h = model->embed_tokens(ids);
  for (const auto& layer : *model->layers) {
    h = layer->as<LlamaDecoderLayer>()->forward(h, rope, attention, mode);
  }
  h = model->norm(h);
  at::Tensor logits =
      lm_head ? lm_head(h) : torch::nn::functional::linear(h, model->embed_tokens->weight);
  return logits.to(at::kFloat);  // the loss's softmax in fp32 under bf16 weights
}

void LlamaForCausalLMImpl::InitWeights(uint64_t seed) {
  torch::NoGradGuard no_grad;
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    at::Tensor& param = item.value();
    if (absl::EndsWith(name, "norm.weight")) {
      param.fill_(1.0);
      continue;
    }
    uint64_t key = Mix(seed);
    for (char ch : name) key = Mix(key ^ static_cast<uint8_t>(ch));
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(key);
    param.normal_(0.0, config_.initializer_range, gen);
  }
}

}  // namespace spindle::model
