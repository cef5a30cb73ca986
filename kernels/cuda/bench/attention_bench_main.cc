// spindle-cuda-bench: TFLOP/s of the CUDA block-attention kernels, forward
// and backward, bf16, head dims 64 and 128, S 1K–32K (b·S = 16K tokens, as
// FlashAttention's benchmarks), causal and full. Median of 10 timed runs after
// 3 warm-ups, timed with CUDA events. FLOPs: forward 4·b·h·S²·d, backward
// 2.5× forward, both halved for causal (FlashAttention's convention,
// docs/perf). With --markdown PATH the table is also written there with the
// device, CUDA version and date.
//
// The comparison against libtorch's flash SDPA needs a CUDA libtorch; it
// belongs to the GPU script's second stage (scripts/gpu_check.sh).
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cuda/attention_cuda.h"

namespace spindle::kernels::cuda {
namespace {

#define CHECK_CUDA(expr)                                                                  \
  do {                                                                                    \
    const cudaError_t e_ = (expr);                                                        \
    if (e_ != cudaSuccess) {                                                              \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #expr, cudaGetErrorString(e_)); \
      std::exit(1);                                                                       \
    }                                                                                     \
  } while (0)

#define CHECK_OK(expr)                                                      \
  do {                                                                      \
    const absl::Status s_ = (expr);                                         \
    if (!s_.ok()) {                                                         \
      std::fprintf(stderr, "%s: %s\n", #expr, std::string(s_.message()).c_str()); \
      std::exit(1);                                                         \
    }                                                                       \
  } while (0)

template <typename F>
double MedianMs(F run) {
  cudaEvent_t a, b;
  CHECK_CUDA(cudaEventCreate(&a));
  CHECK_CUDA(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i) run();
  std::vector<float> ms;
  for (int i = 0; i < 10; ++i) {
    CHECK_CUDA(cudaEventRecord(a));
    run();
    CHECK_CUDA(cudaEventRecord(b));
    CHECK_CUDA(cudaEventSynchronize(b));
    float t = 0;
    CHECK_CUDA(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(ms.begin(), ms.end());
  return 0.5 * (ms[4] + ms[5]);
}

struct Row {
  int64_t d, s;
  bool causal;
  double fwd_tflops, bwd_tflops;
};

Row Measure(int64_t d, int64_t s, bool causal) {
  const int64_t tokens = 16384, b = std::max<int64_t>(1, tokens / s), h = 2048 / d;
  const int64_t n = b * s * h * d;
  void *q, *k, *v, *o, *d_o, *ws;
  float *lse, *dq, *dk, *dv;
  for (void** p : {&q, &k, &v, &o, &d_o}) CHECK_CUDA(cudaMalloc(p, n * 2));
  for (float** p : {&dq, &dk, &dv}) CHECK_CUDA(cudaMalloc(p, n * 4));
  CHECK_CUDA(cudaMalloc(&lse, b * h * s * 4));
  // Small random-ish bf16 values: 0x3c00-range bit patterns are ~0.0078.
  std::vector<uint16_t> host(n);
  for (int64_t i = 0; i < n; ++i) host[i] = static_cast<uint16_t>(0x3c00 + (i * 2654435761u) % 0x200);
  for (void* p : {q, k, v, d_o}) CHECK_CUDA(cudaMemcpy(p, host.data(), n * 2, cudaMemcpyHostToDevice));

  CudaAttentionProblem p;
  p.type = ElemType::kBFloat16;
  p.q = {q, s * h * d, h * d, d};
  p.k = {k, s * h * d, h * d, d};
  p.v = {v, s * h * d, h * d, d};
  p.b = b;
  p.s_q = p.s_k = s;
  p.h = p.h_kv = h;
  p.d = d;
  p.scale = 1.f / std::sqrt(static_cast<float>(d));
  p.causal = causal;
  CHECK_CUDA(cudaMalloc(&ws, std::max<int64_t>(16, BackwardWorkspaceBytes(p))));
  CudaForwardOut fo{{o, s * h * d, h * d, d}, {lse, h * s, s}};
  CudaBackwardIn in{{o, s * h * d, h * d, d}, {d_o, s * h * d, h * d, d}, {lse, h * s, s}};
  CudaBackwardOut go;
  go.dq = {dq, s * h * d, h * d, d};
  go.dk = {dk, s * h * d, h * d, d};
  go.dv = {dv, s * h * d, h * d, d};

  const double fwd_ms = MedianMs([&] { CHECK_OK(AttentionForward(p, fo, nullptr)); });
  const double bwd_ms = MedianMs([&] { CHECK_OK(AttentionBackward(p, in, go, ws, nullptr)); });
  const double fwd_flops = 4.0 * b * h * s * s * d / (causal ? 2 : 1);
  for (void* x : {q, k, v, o, d_o, ws}) cudaFree(x);
  for (float* x : {lse, dq, dk, dv}) cudaFree(x);
  return {d, s, causal, fwd_flops / (fwd_ms * 1e9), 2.5 * fwd_flops / (bwd_ms * 1e9)};
}

int Main(int argc, char** argv) {
  std::string markdown;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--markdown" && i + 1 < argc) markdown = argv[++i];
  }
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof(date), "%Y-%m-%d", std::gmtime(&now));
  std::ostringstream out;
  out << "# CUDA block-attention kernels, bf16\n\n"
      << "Device: " << prop.name << " (sm_" << prop.major << prop.minor << ", " << prop.multiProcessorCount
      << " SMs); CUDA runtime " << runtime / 1000 << "." << (runtime % 1000) / 10 << ", driver "
      << driver / 1000 << "." << (driver % 1000) / 10 << "; " << date << ".\n"
      << "b·S = 16K tokens, hidden 2048 (h = 2048/d), median of 10 after 3 warm-ups; TFLOP/s with "
         "causal halved.\n\n"
      << "| d | S | mask | fwd TFLOP/s | bwd TFLOP/s |\n| --- | --- | --- | --- | --- |\n";
  for (int64_t d : {64, 128}) {
    for (bool causal : {false, true}) {
      for (int64_t s : {1024, 2048, 4096, 8192, 16384, 32768}) {
        const Row r = Measure(d, s, causal);
        char line[160];
        std::snprintf(line, sizeof(line), "| %lld | %lld | %s | %.1f | %.1f |\n",
                      static_cast<long long>(r.d), static_cast<long long>(r.s),
                      r.causal ? "causal" : "full", r.fwd_tflops, r.bwd_tflops);
        out << line;
        std::fputs(line, stdout);
        std::fflush(stdout);
      }
    }
  }
  if (!markdown.empty()) std::ofstream(markdown) << out.str();
  return 0;
}

}  // namespace
}  // namespace spindle::kernels::cuda

int main(int argc, char** argv) { return spindle::kernels::cuda::Main(argc, argv); }
