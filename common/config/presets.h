// Named model presets and the Llama parameter count. A preset fills every
// architecture field of ModelSpec; fields written next to `preset:` in a spec
// override it afterwards (common/config/schema.cc). Not the init or the
// max_position_embeddings default, which depend on the rest of the spec.
//
//   tiny        hidden 64, intermediate 176, 2 layers, 4 heads, 2 kv heads,
//               vocab 256, untied: 125,248 parameters (tests, CPU demos)
//   small-100m  hidden 768, intermediate 2048, 12 layers, 12 heads, 4 kv heads,
//               vocab 32000, tied embeddings: 100,092,672 parameters
//               (24,576,000 embedding + 12 × 6,292,992 per layer + 768 final norm)
//   llama-1b    the TinyLlama-1.1B shape: hidden 2048, intermediate 5632,
//               22 layers, 32 heads, 4 kv heads (head dim 64), vocab 32000,
//               untied: 1,100,048,384 parameters (2 × 65,536,000 embedding and
//               lm_head + 22 × 44,044,288 per layer + 2048 final norm); one
//               GPU's model (spindle-gpu-bench trains it at 16K tokens)
//   llama3-8b   Meta Llama-3-8B: hidden 4096, intermediate 14336, 32 layers,
//               32 heads, 8 kv heads, vocab 128256, rope_theta 500000, untied:
//               8,030,261,248 parameters (2 × 525,336,576 embedding and
//               lm_head + 32 × 218,112,000 per layer + 4096 final norm)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config/job_spec.h"

namespace spindle::config {

// The preset names, in the order shown in errors.
const std::vector<std::string>& ModelPresetNames();

// Overwrites the architecture fields of *model with preset `name` and sets
// model->preset. Returns false (and leaves *model alone) for an unknown name.
bool ApplyModelPreset(const std::string& name, ModelSpec* model);

// Trainable parameters of a Llama model: embeddings, per layer q/k/v/o
// projections (head_dim = hidden / heads; k and v have kv_heads × head_dim
// outputs), gate/up/down MLP and two RMSNorm weights, a final RMSNorm, and an
// lm_head unless tie_word_embeddings. No biases (Llama has none).
int64_t LlamaParameterCount(const ModelSpec& model);

}  // namespace spindle::config
