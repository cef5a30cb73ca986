// Hugging Face interop: a directory with config.json and model.safetensors
// (or a sharded model.safetensors.index.json) under LlamaForCausalLM's
// tensor names ("model.layers.0.self_attn.q_proj.weight", …), as
// transformers writes and reads them.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "worker/model/llama.h"
#include "worker/model/tensor_file.h"

namespace spindle::model {

// dir/config.json.
absl::StatusOr<LlamaConfig> ReadHfConfig(const std::string& dir);

// Writes dir/config.json and dir/model.safetensors (in the weights' dtype, "format": "pt"
// metadata as transformers expects; no lm_head.weight when tied). Each file
// is replaced atomically; dir is created if needed.
absl::Status ExportHf(LlamaForCausalLM& model, const std::string& dir);
// The same for weights held outside a model (a bf16 run's fp32 masters,
// train/sharded_adamw.h), named and shaped like `config`'s parameters.
absl::Status ExportHf(const LlamaConfig& config, const NamedTensors& weights,
                      const std::string& dir);

// Loads every parameter of `model` from dir's weights, converting bf16/fp16
// to the parameter's dtype. Names and shapes must match exactly; rotary
// inv_freq buffers some exporters add are ignored.
absl::Status ImportHfWeights(const std::string& dir, LlamaForCausalLM& model);

}  // namespace spindle::model
