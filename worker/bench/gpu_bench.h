// The GPU benchmark sections of spindle-gpu-bench (scripts/gpu_check.sh):
//
//   attention: Spindle's CUDA block attention against libtorch's flash SDPA
//     (and cuDNN's, when this libtorch offers it), bf16, head dims 64/128,
//     S 1K–32K at b·S = 16K tokens, causal and full; TFLOP/s forward,
//     backward and both, and the ratio to flash SDPA. FLOPs: forward
//     4·b·h·S²·d, backward 2.5× forward, halved for causal
//     (FlashAttention's convention). Median of 10 after 3 warm-ups.
//   split: virtual ranks on one GPU (threads exchanging device buffers):
//     the time of one sequence-parallel forward+backward over P ∈ {2, 4, 8}
//     ranks per algorithm, over the same attention on one rank. The ranks
//     share the device, so the ratio is the split's compute overhead
//     (smaller blocks, merges, copies standing in for transfers).
//   training: full AdamW steps of the llama-1b preset (1.1B parameters) at
//     16K tokens on one GPU in bf16 mixed precision, per activation-
//     checkpointing mode, each in a child process of its own (so its device
//     memory is its own); tokens/s and MFU against the device's dense bf16
//     peak (common/layout/flops.h). Mean of 5 steps after 2 warm-ups.
//
// Every figure is measured in this process, baselines included.
#pragma once

#include <string>

#include "worker/bench/bench_util.h"

namespace spindle::bench {

// Both need a CUDA libtorch and a device; rows are also echoed to stderr as
// they are measured.
Table AttentionVsSdpa();
Table SplitOverhead();
Table GpuTraining();  // spawns this executable with --train-case MODE per row

// The child of GpuTraining: trains with checkpointing MODE and prints a
// "result <s/step> <tokens/step> <device bytes>" line.
int RunGpuTrainCase(const std::string& mode);
// The dense bf16 peak FLOP/s MFU is taken against; 0 for an unknown device.
double GpuTrainingPeak();

}  // namespace spindle::bench
