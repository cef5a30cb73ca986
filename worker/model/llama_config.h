// Llama architecture hyper-parameters, named as Hugging Face's LlamaConfig
// names them, and their config.json form (what `model.safetensors` next to it
// is read with by other tools).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace spindle::model {

struct LlamaConfig {
  int64_t hidden_size = 64;
  int64_t intermediate_size = 176;
  int64_t num_hidden_layers = 2;
  int64_t num_attention_heads = 4;
  int64_t num_key_value_heads = 2;
  int64_t vocab_size = 256;
  int64_t max_position_embeddings = 2048;
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-5;
  bool tie_word_embeddings = false;
  double initializer_range = 0.02;  // std of the normal init of linear and embedding weights

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  // Each violation names the field: "num_key_value_heads: 3 does not divide
  // num_attention_heads 4".
  absl::Status Validate() const;
  // Parameters, lm_head included unless tied.
  int64_t NumParameters() const;
};

// config.json as Hugging Face transformers writes it for LlamaForCausalLM.
std::string ToHfConfigJson(const LlamaConfig& c);
// Reads the fields above (missing optional ones take HF's defaults); names the
// file and field on error.
absl::StatusOr<LlamaConfig> ParseHfConfigJson(const std::string& json, const std::string& source);

}  // namespace spindle::model
