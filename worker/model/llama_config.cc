#include "worker/model/llama_config.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace spindle::model {

absl::Status LlamaConfig::Validate() const {
  std::vector<std::string> errors;
  auto positive = [&](const char* name, int64_t v) {
    if (v < 1) errors.push_back(absl::StrCat(name, ": must be >= 1, got ", v));
  };
  positive("hidden_size", hidden_size);
  positive("intermediate_size", intermediate_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("num_key_value_heads", num_key_value_heads);
  positive("vocab_size", vocab_size);
  positive("max_position_embeddings", max_position_embeddings);
  if (num_attention_heads > 0 && hidden_size % num_attention_heads != 0) {
    errors.push_back(absl::StrCat("hidden_size: ", hidden_size,
                                  " is not a multiple of num_attention_heads ",
                                  num_attention_heads));
  }
  if (num_key_value_heads > 0 && num_attention_heads % num_key_value_heads != 0) {
    errors.push_back(absl::StrCat("num_key_value_heads: ", num_key_value_heads,
                                  " does not divide num_attention_heads ", num_attention_heads));
  }
  if (num_attention_heads > 0 && head_dim() % 2 != 0) {
    errors.push_back(absl::StrCat("hidden_size / num_attention_heads = ", head_dim(),
                                  " must be even for rotary embeddings"));
  }
  if (!(rope_theta > 0)) errors.push_back(absl::StrCat("rope_theta: must be > 0, got ", rope_theta));
  if (!(rms_norm_eps > 0)) {
    errors.push_back(absl::StrCat("rms_norm_eps: must be > 0, got ", rms_norm_eps));
  }
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
}

int64_t LlamaConfig::NumParameters() const {
  const int64_t h = hidden_size, kv = num_key_value_heads * head_dim();
  const int64_t per_layer = h * h + 2 * h * kv + h * h + 3 * h * intermediate_size + 2 * h;
  return vocab_size * h * (tie_word_embeddings ? 1 : 2) + num_hidden_layers * per_layer + h;
}

std::string ToHfConfigJson(const LlamaConfig& c) {
  nlohmann::ordered_json j;
  j["architectures"] = {"LlamaForCausalLM"};
  j["model_type"] = "llama";
  j["hidden_act"] = "silu";
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["vocab_size"] = c.vocab_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rope_theta"] = c.rope_theta;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["initializer_range"] = c.initializer_range;
  j["attention_bias"] = false;
  j["torch_dtype"] = "float32";
  return j.dump(2) + "\n";
}

absl::StatusOr<LlamaConfig> ParseHfConfigJson(const std::string& text, const std::string& source) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": not a JSON object"));
  }
  if (j.contains("model_type") && j["model_type"] != "llama") {
    return absl::InvalidArgumentError(absl::StrCat(source, ": model_type is ",
                                                   j["model_type"].dump(),
                                                   "; only llama models are supported"));
  }
  LlamaConfig c;
  std::vector<std::string> errors;
  auto read_int = [&](const char* key, int64_t& out, bool required) {
    if (!j.contains(key)) {
      if (required) errors.push_back(absl::StrCat(key, ": missing"));
      return;
    }
    if (!j[key].is_number_integer()) {
      errors.push_back(absl::StrCat(key, ": must be an integer, got ", j[key].dump()));
      return;
    }
    out = j[key].get<int64_t>();
  };
  auto read_double = [&](const char* key, double& out) {
    if (!j.contains(key) || j[key].is_null()) return;
    if (!j[key].is_number()) {
      errors.push_back(absl::StrCat(key, ": must be a number, got ", j[key].dump()));
      return;
    }
    out = j[key].get<double>();
  };
  read_int("hidden_size", c.hidden_size, true);
  read_int("intermediate_size", c.intermediate_size, true);
  read_int("num_hidden_layers", c.num_hidden_layers, true);
  read_int("num_attention_heads", c.num_attention_heads, true);
  c.num_key_value_heads = c.num_attention_heads;  // HF's default: plain multi-head attention
  read_int("num_key_value_heads", c.num_key_value_heads, false);
  read_int("vocab_size", c.vocab_size, true);
  read_int("max_position_embeddings", c.max_position_embeddings, false);
  read_double("rope_theta", c.rope_theta);
  read_double("rms_norm_eps", c.rms_norm_eps);
  read_double("initializer_range", c.initializer_range);
  if (j.contains("tie_word_embeddings")) {
    if (!j["tie_word_embeddings"].is_boolean()) {
      errors.push_back("tie_word_embeddings: must be true or false");
    } else {
      c.tie_word_embeddings = j["tie_word_embeddings"].get<bool>();
    }
  }
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    errors.push_back("rope_scaling: scaled rotary embeddings are not supported yet; remove it or use "
                     "a model without it");
  }
  if (errors.empty()) {
    if (absl::Status s = c.Validate(); !s.ok()) errors.push_back(std::string(s.message()));
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", absl::StrJoin(errors, "; ")));
  }
  return c;
}

}  // namespace spindle::model
