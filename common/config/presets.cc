#include "common/config/presets.h"

namespace spindle::config {

const std::vector<std::string>& ModelPresetNames() {
  static const std::vector<std::string>* names =
      new std::vector<std::string>{"tiny", "small-100m", "llama-1b", "llama3-8b"};
  return *names;
}

bool ApplyModelPreset(const std::string& name, ModelSpec* model) {
  ModelSpec m = *model;
  m.rope_theta = 10000.0;
  if (name == "tiny") {
    m.hidden_size = 64;
    m.intermediate_size = 176;
    m.num_hidden_layers = 2;
    m.num_attention_heads = 4;
    m.num_key_value_heads = 2;
    m.vocab_size = 256;
    m.tie_word_embeddings = false;
  } else if (name == "small-100m") {
    m.hidden_size = 768;
    m.intermediate_size = 2048;
    m.num_hidden_layers = 12;
    m.num_attention_heads = 12;
    m.num_key_value_heads = 4;
    m.vocab_size = 32000;
    m.tie_word_embeddings = true;
  } else if (name == "llama-1b") {
    m.hidden_size = 2048;
    m.intermediate_size = 5632;
    m.num_hidden_layers = 22;
    m.num_attention_heads = 32;
    m.num_key_value_heads = 4;
    m.vocab_size = 32000;
    m.tie_word_embeddings = false;
  } else if (name == "llama3-8b") {
    m.hidden_size = 4096;
    m.intermediate_size = 14336;
    m.num_hidden_layers = 32;
    m.num_attention_heads = 32;
    m.num_key_value_heads = 8;
    m.vocab_size = 128256;
    m.rope_theta = 500000.0;
    m.tie_word_embeddings = false;
  } else {
    return false;
  }
  m.preset = name;
  m.arch = Arch::kLlama;
  m.rms_norm_eps = 1e-5;
  *model = m;
  return true;
}

int64_t LlamaParameterCount(const ModelSpec& model) {
  const int64_t hidden = model.hidden_size;
  const int64_t heads = model.num_attention_heads > 0 ? model.num_attention_heads : 1;
  const int64_t kv_dim = hidden / heads * model.num_key_value_heads;
  const int64_t embedding = static_cast<int64_t>(model.vocab_size) * hidden;
  const int64_t attention = 2 * hidden * hidden + 2 * hidden * kv_dim;  // q, o; k, v
  const int64_t mlp = 3 * hidden * model.intermediate_size;             // gate, up, down
  const int64_t per_layer = attention + mlp + 2 * hidden;               // + two RMSNorms
  return embedding * (model.tie_word_embeddings ? 1 : 2) + model.num_hidden_layers * per_layer +
         hidden;
}

}  // namespace spindle::config
