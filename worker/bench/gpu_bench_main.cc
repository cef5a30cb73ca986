// spindle-gpu-bench: the GPU benchmark table (gpu_bench.h), printed and, with
// --markdown PATH, written there with the device, versions and date.
// Run by scripts/gpu_check.sh after the GPU tests.
#include <cuda_runtime.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "worker/bench/gpu_bench.h"

namespace spindle::bench {
namespace {

std::string DeviceLine() {
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof(date), "%Y-%m-%d", std::gmtime(&now));
  std::ostringstream out;
  out << "Device: " << prop.name << " (sm_" << prop.major << prop.minor << ", "
      << prop.multiProcessorCount << " SMs); CUDA runtime " << runtime / 1000 << "."
      << (runtime % 1000) / 10 << ", driver " << driver / 1000 << "." << (driver % 1000) / 10
      << "; libtorch " << TORCH_VERSION << "; " << date << ".";
  return out.str();
}

int Main(int argc, char** argv) {
  std::string markdown;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--markdown" && i + 1 < argc) {
      markdown = argv[++i];
    } else if (arg == "--train-case" && i + 1 < argc) {
      return RunGpuTrainCase(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: %s [--markdown PATH]\n", argv[0]);
      return 2;
    }
  }
  if (!torch::cuda::is_available()) {
    std::fprintf(stderr,
                 "spindle-gpu-bench: libtorch sees no CUDA device (a CPU libtorch, or no GPU); "
                 "build against a CUDA libtorch on a GPU machine (scripts/gpu_check.sh)\n");
    return 2;
  }
  // Training first: its children need the device memory this process's
  // cache would hold after the attention sections.
  const Table training = GpuTraining();
  std::ostringstream out;
  out << "# Spindle on one GPU\n\n"
      << DeviceLine() << "\n\n"
      << "## Block attention vs libtorch SDPA (bf16)\n\n"
      << "TFLOP/s (forward 4·b·h·S²·d, backward 2.5×, causal halved); b·S = 16K tokens, "
         "h = 2048/d; median of 10 after 3 warm-ups, device drained per run. "
         "`own/flash f+b` is flash SDPA's forward+backward time over ours (> 1: ours faster).\n\n";
  AttentionVsSdpa().Print(out);
  out << "\n## Split overhead on virtual ranks (bf16, causal)\n\n"
      << "P threads share the GPU and exchange device buffers; one sequence-parallel "
         "forward+backward (h 32, h_kv 8, d 128, 2K tokens per rank) over the same "
         "attention on one rank. Median of 5 after 2 warm-ups.\n\n";
  SplitOverhead().Print(out);
  out << "\n## Training step (bf16 mixed precision, AdamW)\n\n"
      << "The llama-1b preset (TinyLlama-1.1B's shape, head dim 64) at 16K tokens, one "
         "sequence per step: bf16 weights and activations, fp32 gradients, master weights "
         "and moments. Every row is a fresh process; mean of 5 steps after 2 warm-ups. MFU "
         "= model FLOP/s (Megatron's 6N + 6·L·h·S per token; PaLM's 6N + 12·L·h·S beside "
         "it) over the dense bf16 peak, "
      << (GpuTrainingPeak() > 0 ? Fixed(GpuTrainingPeak() / 1e12, 0) + " TFLOP/s"
                                : std::string("unknown for this device"))
      << ". `device GiB`: device memory in use after the steps, libtorch's cache "
         "included.\n\n";
  training.Print(out);
  std::cout << out.str();
  if (!markdown.empty()) {
    std::ofstream file(markdown);
    file << out.str();
    if (!file) {
      std::fprintf(stderr, "spindle-gpu-bench: cannot write %s\n", markdown.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace spindle::bench

int main(int argc, char** argv) { return spindle::bench::Main(argc, argv); }
