// Training FLOPs per token for MFU, in the two conventions the field uses
// (shared/reference/performance.md §1). N counts matmul parameters only:
// per layer q, k, v, o projections (GQA-aware: k and v have kv_heads·head_dim
// outputs) and the three SwiGLU matrices, plus the lm_head matmul (tied or
// not); the embedding lookup and norms do no matmul. Backward = 2× forward;
// recomputation is never counted (model FLOPs, not hardware FLOPs).
//
//   Megatron-LM   6N + 6·L·h·S    causal attention halved (Spindle's MFU)
//   PaLM App. B   6N + 12·L·h·S   attention not halved (nanoGPT, torchtitan)
//
// h = heads·head_dim, S the sequence length (every token attends to at most
// S keys). Pure.
#pragma once

#include <cstdint>
#include <string>

namespace spindle::layout {

struct ModelShape {
  int64_t hidden = 0;        // hidden_size
  int64_t intermediate = 0;  // intermediate_size (SwiGLU width)
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t vocab = 0;
};

// N above.
int64_t MatmulParameters(const ModelShape& m);

double MegatronFlopsPerToken(const ModelShape& m, int64_t seq_len);
double PalmFlopsPerToken(const ModelShape& m, int64_t seq_len);

// MFU's denominator: dense (no sparsity) peak FLOP/s of known GPUs by the
// name the driver reports ("NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe"),
// from NVIDIA's data sheets; 0 when unknown.
struct GpuPeak {
  double bf16 = 0;
  double fp32 = 0;
};
GpuPeak KnownGpuPeak(const std::string& name);

}  // namespace spindle::layout
