// Runs the Trainer with ranks as threads of the test process (in-process
// communicators) and collects what the equivalence tests compare.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/comm/memory.h"
#include "common/layout/mesh.h"
#include "common/layout/sequence_layout.h"
#include "worker/train/trainer.h"

namespace spindle::train::testing {

struct RunResult {
  std::vector<double> losses;                 // per step, rank 0's view
  std::vector<double> grad_norms;             // per step
  std::map<std::string, at::Tensor> weights;  // rank 0's final weights, on the CPU
  std::map<std::string, at::Tensor> grads;    // rank 0's last reduced gradients, on the CPU
  std::vector<int64_t> attention_calls;       // rank 0's forward_calls() after each step
};

// A data × Ulysses × ring mesh and the layout that shards its sequences.
struct Mesh {
  int dp, ulysses, ring;
  layout::LayoutKind layout;
};
std::string MeshName(const Mesh& m);  // "DP2U1R2_zigzag"

// Tiny Llama (2 layers, hidden 64, 4 heads, 2 KV heads, vocab 256), S 256,
// global batch 2, micro batch 1, the synthetic copy task (common/data).
TrainerOptions TinyOptions();

// Runs `steps` steps on a dp × ulysses × ring mesh. `before` runs on every
// rank after creation (e.g. to load a checkpoint); `after_step` after each
// step on every rank. `memory`: what the ranks' buffers are (device memory
// when options.device is a GPU: virtual ranks sharing it).
RunResult Train(const TrainerOptions& options, int dp, int ulysses, int ring, int steps,
                const std::function<void(Trainer&)>& before = nullptr,
                const std::function<void(Trainer&, int rank)>& after_step = nullptr,
                const comm::Memory& memory = comm::HostMemory());

// The largest relative difference of a tensor: max over names of
// ||a - b||₂ / ||a||₂ (||a - b||₂ when a is zero).
double MaxRelDiff(const std::map<std::string, at::Tensor>& a,
                  const std::map<std::string, at::Tensor>& b);

}  // namespace spindle::train::testing
