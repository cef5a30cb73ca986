#include "worker/sp/ulysses_copy.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>

#include "kernels/cpu/copy.h"
#include "kernels/layout_copy.h"
#include "worker/sp/attention_adapter.h"
#if SPINDLE_TORCH_CUDA
#include "worker/sp/attention_adapter_cuda.h"
#endif

namespace spindle::sp {
namespace {

// The copies move runs of whole heads, so heads must be contiguous. A size-1
// head or d dimension may carry any stride: the copy never steps along it.
at::Tensor HeadsContiguous(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.dim() == 4, name, " must be (b, s, h, d), got ", t.sizes());
  const bool ok =
      (t.size(3) == 1 || t.stride(3) == 1) && (t.size(2) == 1 || t.stride(2) == t.size(3));
  return ok ? t : t.contiguous();
}

template <typename T>
kernels::BshdView<T> HeadsView(const at::Tensor& t) {
  return {static_cast<T*>(t.data_ptr()), t.stride(0), t.stride(1), t.size(3)};
}

int64_t Numel(const SegmentPart& p) { return p.b * p.l * p.n * p.d; }

// The buffer (U, seg) and the part's place in it.
void CheckBuffer(const at::Tensor& buf, const at::Tensor& t, const SegmentPart& p) {
  TORCH_CHECK(buf.dim() == 2 && buf.is_contiguous(),
              "a Ulysses buffer must be a contiguous (U, seg), got ", buf.sizes());
  TORCH_CHECK(buf.scalar_type() == t.scalar_type() && buf.device() == t.device(),
              "a Ulysses buffer and its parts must share dtype and device: ", buf.scalar_type(),
              " on ", buf.device(), " vs ", t.scalar_type(), " on ", t.device());
  TORCH_CHECK(p.offset >= 0 && p.offset + Numel(p) <= buf.size(1), "part [", p.offset, ", ",
              p.offset + Numel(p), ") does not fit a segment of ", buf.size(1), " elements");
}

kernels::UlyssesShape ShapeOf(const SegmentPart& p, int64_t u, const at::Tensor& buf) {
  kernels::UlyssesShape s;
  s.b = p.b;
  s.s = p.l;
  s.h = u * p.n;
  s.d = p.d;
  s.P = u;
  s.elem_bytes = static_cast<int64_t>(buf.element_size());
  s.segment_bytes = buf.size(1) * s.elem_bytes;
  return s;
}

char* PartStart(const at::Tensor& buf, const SegmentPart& p) {
  return static_cast<char*>(buf.data_ptr()) + p.offset * static_cast<int64_t>(buf.element_size());
}

void Run(const absl::StatusOr<kernels::Copy3dArgs>& args, const at::Tensor& on) {
  TORCH_CHECK_OK_STATUS(args.status());
#if SPINDLE_TORCH_CUDA
  if (on.is_cuda()) return cuda::Copy3d(*args, on);
#endif
  TORCH_CHECK(on.is_cpu(), "Ulysses copies run on CPU or CUDA tensors, got ", on.device());
  // Split across libtorch's intra-op threads, as its own copies are, in
  // pieces of at least 64 KiB.
  const kernels::Copy3dArgs& a = *args;
  const int64_t piece_bytes = std::max<int64_t>(a.n[2] * a.inner_bytes, 1);
  at::parallel_for(0, a.n[0] * a.n[1], std::max<int64_t>(1, (int64_t{64} << 10) / piece_bytes),
                   [&](int64_t begin, int64_t end) { kernels::cpu::Copy3dOuter(a, begin, end); });
}

void Pack(const at::Tensor& t, const SegmentPart& p, at::Tensor& send, bool by_heads) {
  const int64_t u = send.dim() == 2 ? send.size(0) : 0;
  const std::vector<int64_t> want = by_heads ? std::vector<int64_t>{p.b, p.l, u * p.n, p.d}
                                             : std::vector<int64_t>{p.b, u * p.l, p.n, p.d};
  TORCH_CHECK(t.sizes() == at::IntArrayRef(want), "Ulysses pack expected ", at::IntArrayRef(want),
              ", got ", t.sizes());
  CheckBuffer(send, t, p);
  if (Numel(p) == 0) return;
  const at::Tensor dense = HeadsContiguous(t, "a packed part");
  const kernels::UlyssesShape s = ShapeOf(p, u, send);
  const auto in = HeadsView<const void>(dense);
  Run(by_heads ? kernels::UlyssesPackHeadsArgs(s, in, PartStart(send, p))
               : kernels::UlyssesPackTokensArgs(s, in, PartStart(send, p)),
      send);
}

at::Tensor Unpack(const at::Tensor& recv, const SegmentPart& p, bool to_heads) {
  const int64_t u = recv.size(0);
  at::Tensor out = to_heads ? at::empty({p.b, p.l, u * p.n, p.d}, recv.options())
                            : at::empty({p.b, u * p.l, p.n, p.d}, recv.options());
  CheckBuffer(recv, out, p);
  if (Numel(p) == 0) return out;
  const kernels::UlyssesShape s = ShapeOf(p, u, recv);
  const auto view = HeadsView<void>(out);
  Run(to_heads ? kernels::UlyssesUnpackHeadsArgs(s, PartStart(recv, p), view)
               : kernels::UlyssesUnpackTokensArgs(s, PartStart(recv, p), view),
      recv);
  return out;
}

}  // namespace

void PackHeads(const at::Tensor& t, const SegmentPart& part, at::Tensor& send) {
  Pack(t, part, send, /*by_heads=*/true);
}

void PackTokens(const at::Tensor& t, const SegmentPart& part, at::Tensor& send) {
  Pack(t, part, send, /*by_heads=*/false);
}

at::Tensor UnpackTokens(const at::Tensor& recv, const SegmentPart& part) {
  return Unpack(recv, part, /*to_heads=*/false);
}

at::Tensor UnpackHeads(const at::Tensor& recv, const SegmentPart& part) {
  return Unpack(recv, part, /*to_heads=*/true);
}

}  // namespace spindle::sp
