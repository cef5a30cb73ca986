// A Llama-architecture decoder (the Hugging Face LlamaForCausalLM layout):
// token embedding, per layer RMSNorm → attention with GQA through the
// sequence-parallel op → residual → RMSNorm → SwiGLU MLP → residual, a final
// RMSNorm and the LM head (optionally tied to the embedding).
//
// Module and parameter names are Hugging Face's ("model.layers.3.self_attn.
// q_proj.weight"), so weight import/export is a straight name match. Every
// rank holds the full weights; a rank's forward sees only its local tokens,
// at their global positions (rope.h).
//
// Parameters are fp32, or bf16 as the compute copy of a mixed-precision run
// (the fp32 master weights live in the optimizer, sharded_adamw.h);
// activations take the parameters' type, norms and rotary tables are
// computed in fp32, and the logits are returned in fp32.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "worker/model/llama_config.h"
#include "worker/model/rope.h"
#include "worker/sp/sp_attention.h"

namespace spindle::model {

// What each layer keeps for backward:
//   none      every activation;
//   full      only the layer input: backward re-runs the whole layer,
//             attention (and its communication) included;
//   attention the layer input plus the attention op's own saved tensors
//             (q, k, v, output, lse): backward recomputes the projections,
//             norms and MLP but never re-runs attention forward.
enum class Checkpointing { kNone, kFull, kAttention };
const char* CheckpointingName(Checkpointing c);
absl::StatusOr<Checkpointing> ParseCheckpointing(const std::string& name);

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x);  // x (…, dim)
  at::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

class LlamaAttentionImpl : public torch::nn::Module {
 public:
  explicit LlamaAttentionImpl(const LlamaConfig& c);
  // x (b, L, hidden) -> q (b, L, h, d), k, v (b, L, h_kv, d), rotary applied.
  std::vector<at::Tensor> Project(const at::Tensor& x, const RopeTables& rope);
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

 private:
  int64_t h_, h_kv_, d_;
};
TORCH_MODULE(LlamaAttention);

class LlamaMLPImpl : public torch::nn::Module {
 public:
  explicit LlamaMLPImpl(const LlamaConfig& c);
  at::Tensor forward(const at::Tensor& x);  // down(silu(gate(x)) * up(x))
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(LlamaMLP);

class LlamaDecoderLayerImpl : public torch::nn::Module {
 public:
  explicit LlamaDecoderLayerImpl(const LlamaConfig& c);
  // x (b, L, hidden) -> (b, L, hidden).
  at::Tensor forward(const at::Tensor& x, const RopeTables& rope,
                     const std::shared_ptr<const sp::SpAttention>& attention, Checkpointing mode);
  LlamaAttention self_attn{nullptr};
  LlamaMLP mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

class LlamaModelImpl : public torch::nn::Module {
 public:
  explicit LlamaModelImpl(const LlamaConfig& c);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(LlamaModel);

class LlamaForCausalLMImpl : public torch::nn::Module {
 public:
  explicit LlamaForCausalLMImpl(const LlamaConfig& c);
  // ids (b, L) int64 local tokens -> logits (b, L, vocab) fp32.
  at::Tensor forward(const at::Tensor& ids, const RopeTables& rope,
                     const std::shared_ptr<const sp::SpAttention>& attention, Checkpointing mode);
  // Normal(0, initializer_range) for embeddings and projections, ones for
  // norms; each parameter drawn from its own stream keyed by (seed, name), so
  // every rank builds identical weights.
  void InitWeights(uint64_t seed);
  const LlamaConfig& config() const { return config_; }

  LlamaModel model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // null when tie_word_embeddings

 private:
  LlamaConfig config_;
};
TORCH_MODULE(LlamaForCausalLM);

}  // namespace spindle::model
