#include "kernels/cuda/layout_copy.h"

#include "absl/strings/str_cat.h"
#include "kernels/cuda/copy_kernels.h"
#include "kernels/cuda/launch_status.h"

namespace spindle::kernels::cuda {
namespace {

absl::Status CheckShape(const UlyssesShape& u) {
  if (u.b < 0 || u.s < 0 || u.h < 1 || u.d < 1 || u.P < 1 || u.h % u.P != 0 || u.elem_bytes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("ulysses copy: need b, s >= 0, h, d, P >= 1 and P dividing h; got b=", u.b,
                     " s=", u.s, " h=", u.h, " d=", u.d, " P=", u.P));
  }
  return absl::OkStatus();
}

// Runs of h/P heads are copied as one block, so heads must be contiguous.
template <typename View>
absl::Status CheckView(const View& v, int64_t d, const char* name) {
  if (v.data == nullptr) return absl::InvalidArgumentError(absl::StrCat(name, " is null"));
  if (v.batch_stride < 0 || v.row_stride < 0 || v.head_stride != d) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": strides must be non-negative with heads contiguous (head stride ",
                     v.head_stride, " != d ", d, ")"));
  }
  return absl::OkStatus();
}

// Segment layout shared by the four Ulysses copies: segment j is a contiguous
// (b, s, h/P, d) block; its (batch, row) byte strides.
struct Segments {
  int64_t run_bytes, row, batch, segment;
};
Segments SegmentsOf(const UlyssesShape& u) {
  const int64_t run = u.h / u.P * u.d * u.elem_bytes;
  return {run, run, u.s * run, u.b * u.s * run};
}

// Segment j of the tensor starts segment_stride elements after segment j-1:
// h/P heads for the head exchanges, s rows for the token exchanges.
absl::Status Pack(const UlyssesShape& u, BshdView<const void> in, int64_t segment_stride,
                  void* send, void* stream) {
  if (auto s = CheckShape(u); !s.ok()) return s;
  if (auto s = CheckView(in, u.d, "in"); !s.ok()) return s;
  const Segments seg = SegmentsOf(u);
  const int64_t e = u.elem_bytes;
  Copy3dArgs a{in.data,
               send,
               {u.P, u.b, u.s},
               {segment_stride * e, in.batch_stride * e, in.row_stride * e},
               {seg.segment, seg.batch, seg.row},
               seg.run_bytes};
  return LaunchStatus(LaunchCopy3d(a, stream), "ulysses copy");
}

absl::Status Unpack(const UlyssesShape& u, const void* recv, BshdView<void> out,
                    int64_t segment_stride, void* stream) {
  if (auto s = CheckShape(u); !s.ok()) return s;
  if (auto s = CheckView(out, u.d, "out"); !s.ok()) return s;
  const Segments seg = SegmentsOf(u);
  const int64_t e = u.elem_bytes;
  Copy3dArgs a{recv,
               out.data,
               {u.P, u.b, u.s},
               {seg.segment, seg.batch, seg.row},
               {segment_stride * e, out.batch_stride * e, out.row_stride * e},
               seg.run_bytes};
  return LaunchStatus(LaunchCopy3d(a, stream), "ulysses copy");
}

}  // namespace

absl::Status UlyssesPackHeads(const UlyssesShape& u, BshdView<const void> in, void* send,
                              void* stream) {
  return Pack(u, in, u.h / u.P * in.head_stride, send, stream);
}

absl::Status UlyssesUnpackTokens(const UlyssesShape& u, const void* recv, BshdView<void> out,
                                 void* stream) {
  return Unpack(u, recv, out, u.s * out.row_stride, stream);
}

absl::Status UlyssesPackTokens(const UlyssesShape& u, BshdView<const void> in, void* send,
                               void* stream) {
  return Pack(u, in, u.s * in.row_stride, send, stream);
}

absl::Status UlyssesUnpackHeads(const UlyssesShape& u, const void* recv, BshdView<void> out,
                                void* stream) {
  return Unpack(u, recv, out, u.h / u.P * out.head_stride, stream);
}

absl::Status GatherRows(const GatherShape& g, BshdView<const void> in, const int64_t* index,
                        BshdView<void> out, void* stream) {
  if (g.b < 0 || g.rows < 0 || g.h < 1 || g.d < 1 || g.elem_bytes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("gather rows: bad shape b=", g.b, " rows=", g.rows, " h=", g.h, " d=", g.d));
  }
  if (auto s = CheckView(in, g.d, "gather rows in"); !s.ok()) return s;
  if (auto s = CheckView(out, g.d, "gather rows out"); !s.ok()) return s;
  if (index == nullptr && g.rows > 0)
    return absl::InvalidArgumentError("gather rows: index is null");
  const int64_t e = g.elem_bytes;
  GatherRowsArgs a{in.data,
                   out.data,
                   index,
                   g.b,
                   g.rows,
                   in.batch_stride * e,
                   in.row_stride * e,
                   out.batch_stride * e,
                   out.row_stride * e,
                   g.h * g.d * e};
  return LaunchStatus(LaunchGatherRows(a, stream), "gather rows");
}

}  // namespace spindle::kernels::cuda
