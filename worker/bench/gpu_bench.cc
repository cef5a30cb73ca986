#include "worker/bench/gpu_bench.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "worker/sp/attention_adapter.h"

namespace spindle::bench {
namespace {

constexpr int kWarmup = 3, kTimed = 10;

// Median seconds of fn with the device drained after each run.
double DeviceSeconds(const std::function<void()>& fn) {
  return MedianSeconds(
      [&] {
        fn();
        torch::cuda::synchronize();
      },
      kWarmup, kTimed);
}

struct Timing {
  double fwd = 0, fwd_bwd = 0;  // seconds
};

// Spindle's kernels through the torch adapter; backward from the forward's o
// and lse, as the sequence-parallel code calls it.
Timing OwnKernel(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                 const at::Tensor& d_o, bool causal) {
  const double scale = 1.0 / std::sqrt(double(q.size(3)));
  sp::BlockMask mask;
  mask.causal = causal;
  at::Tensor o = at::empty_like(q);
  at::Tensor lse = at::empty({q.size(0), q.size(2), q.size(1)}, q.options().dtype(at::kFloat));
  at::Tensor dq = at::empty(q.sizes(), q.options().dtype(at::kFloat));
  at::Tensor dk = at::empty(k.sizes(), k.options().dtype(at::kFloat));
  at::Tensor dv = at::empty(v.sizes(), v.options().dtype(at::kFloat));
  auto forward = [&] { sp::BlockForwardInto(q, k, v, mask, scale, o, lse, nullptr); };
  Timing t;
  t.fwd = DeviceSeconds(forward);
  t.fwd_bwd = DeviceSeconds([&] {
    forward();
    sp::BlockBackwardInto(q, k, v, o, d_o, lse, mask, scale, dq, dk, dv, false, nullptr);
  });
  return t;
}

#if TORCH_VERSION_MAJOR >= 2
enum class Sdpa { kFlash, kCudnn };

// libtorch's scaled_dot_product_attention restricted to one backend, through
// autograd as a model would call it. Empty when the backend refuses the case.
std::optional<Timing> LibtorchSdpa(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                   const at::Tensor& d_o, bool causal, Sdpa backend) {
  at::Context& ctx = at::globalContext();
  ctx.setSDPUseFlash(backend == Sdpa::kFlash);
  ctx.setSDPUseCuDNN(backend == Sdpa::kCudnn);
  ctx.setSDPUseMemEfficient(false);
  ctx.setSDPUseMath(false);
  // (b, s, h, d) storage seen as (b, h, s, d), as models hold it.
  at::Tensor qt = q.detach().transpose(1, 2).requires_grad_(true);
  at::Tensor kt = k.detach().transpose(1, 2).requires_grad_(true);
  at::Tensor vt = v.detach().transpose(1, 2).requires_grad_(true);
  at::Tensor gt = d_o.transpose(1, 2);
  auto forward = [&] { return at::scaled_dot_product_attention(qt, kt, vt, {}, 0.0, causal); };
  try {
    Timing t;
    {
      torch::NoGradGuard no_grad;
      t.fwd = DeviceSeconds([&] { forward(); });
    }
    t.fwd_bwd = DeviceSeconds([&] {
      at::Tensor o = forward();
      torch::autograd::grad({o}, {qt, kt, vt}, {gt});
    });
    return t;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "  %s SDPA refused: %s\n", backend == Sdpa::kFlash ? "flash" : "cuDNN",
                 e.what_without_backtrace());
    return std::nullopt;
  }
}
#endif

std::string Tflops(double flops, double seconds) { return Fixed(flops / seconds / 1e12, 1); }

}  // namespace

Table AttentionVsSdpa() {
  Table table({"d", "S", "b", "mask", "own fwd", "own bwd", "own f+b", "flash f+b", "cuDNN f+b",
               "own/flash f+b"});
  const auto options = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  for (int64_t d : {64, 128}) {
    for (bool causal : {false, true}) {
      for (int64_t s : {1024, 2048, 4096, 8192, 16384, 32768}) {
        const int64_t tokens = 16384, b = std::max<int64_t>(1, tokens / s), h = 2048 / d;
        at::Tensor q = at::randn({b, s, h, d}, options);
        at::Tensor k = at::randn({b, s, h, d}, options);
        at::Tensor v = at::randn({b, s, h, d}, options);
        at::Tensor d_o = at::randn({b, s, h, d}, options);
        const double fwd_flops = 4.0 * b * h * s * s * d / (causal ? 2 : 1);
        const double all_flops = 3.5 * fwd_flops;
        const Timing own = OwnKernel(q, k, v, d_o, causal);
        std::string flash = "n/a", cudnn = "n/a", ratio = "n/a";
#if TORCH_VERSION_MAJOR >= 2
        if (auto t = LibtorchSdpa(q, k, v, d_o, causal, Sdpa::kFlash)) {
          flash = Tflops(all_flops, t->fwd_bwd);
          ratio = Fixed(t->fwd_bwd / own.fwd_bwd, 2);
        }
        if (auto t = LibtorchSdpa(q, k, v, d_o, causal, Sdpa::kCudnn)) {
          cudnn = Tflops(all_flops, t->fwd_bwd);
        }
#endif
        std::vector<std::string> row = {std::to_string(d),
                                        std::to_string(s),
                                        std::to_string(b),
                                        causal ? "causal" : "full",
                                        Tflops(fwd_flops, own.fwd),
                                        Tflops(2.5 * fwd_flops, own.fwd_bwd - own.fwd),
                                        Tflops(all_flops, own.fwd_bwd),
                                        flash,
                                        cudnn,
                                        ratio};
        std::string line;
        for (const std::string& cell : row) line += cell + " ";
        std::fprintf(stderr, "attention: %s\n", line.c_str());
        table.Add(std::move(row));
      }
    }
  }
  return table;
}

}  // namespace spindle::bench
