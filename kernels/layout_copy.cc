#include "kernels/layout_copy.h"

#include "absl/strings/str_cat.h"

namespace spindle::kernels {
namespace {

absl::Status CheckShape(const UlyssesShape& u) {
  if (u.b < 0 || u.s < 0 || u.h < 1 || u.d < 1 || u.P < 1 || u.h % u.P != 0 || u.elem_bytes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("ulysses copy: need b, s >= 0, h, d, P >= 1 and P dividing h; got b=", u.b,
                     " s=", u.s, " h=", u.h, " d=", u.d, " P=", u.P));
  }
  const int64_t packed = u.b * u.s * (u.h / u.P) * u.d * u.elem_bytes;
  if (u.segment_bytes != 0 && u.segment_bytes < packed) {
    return absl::InvalidArgumentError(absl::StrCat("ulysses copy: segments of ", u.segment_bytes,
                                                   " bytes cannot hold a (b, s, h/P, d) block of ",
                                                   packed, " bytes"));
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

// The buffer side of the four copies: segment j is a contiguous
// (b, s, h/P, d) block; its (segment, batch, row) byte strides and run.
struct Segments {
  int64_t run_bytes, row, batch, segment;
};
Segments SegmentsOf(const UlyssesShape& u) {
  const int64_t run = u.h / u.P * u.d * u.elem_bytes;
  const int64_t packed = u.b * u.s * run;
  return {run, run, u.s * run, u.segment_bytes != 0 ? u.segment_bytes : packed};
}

// Segment j of the tensor starts segment_stride elements after segment j-1:
// h/P heads for the head exchanges, s rows for the token exchanges.
absl::StatusOr<Copy3dArgs> Pack(const UlyssesShape& u, BshdView<const void> in,
                                int64_t segment_stride, void* send) {
  if (auto s = CheckShape(u); !s.ok()) return s;
  if (auto s = CheckView(in, u.d, "in"); !s.ok()) return s;
  if (send == nullptr) return absl::InvalidArgumentError("ulysses copy: send buffer is null");
  const Segments seg = SegmentsOf(u);
  const int64_t e = u.elem_bytes;
  return Copy3dArgs{in.data,
                    send,
                    {u.P, u.b, u.s},
                    {segment_stride * e, in.batch_stride * e, in.row_stride * e},
                    {seg.segment, seg.batch, seg.row},
                    seg.run_bytes};
}

absl::StatusOr<Copy3dArgs> Unpack(const UlyssesShape& u, const void* recv, BshdView<void> out,
                                  int64_t segment_stride) {
  if (auto s = CheckShape(u); !s.ok()) return s;
  if (auto s = CheckView(out, u.d, "out"); !s.ok()) return s;
  if (recv == nullptr) return absl::InvalidArgumentError("ulysses copy: recv buffer is null");
  const Segments seg = SegmentsOf(u);
  const int64_t e = u.elem_bytes;
  return Copy3dArgs{recv,
                    out.data,
                    {u.P, u.b, u.s},
                    {seg.segment, seg.batch, seg.row},
                    {segment_stride * e, out.batch_stride * e, out.row_stride * e},
                    seg.run_bytes};
}

}  // namespace

absl::StatusOr<Copy3dArgs> UlyssesPackHeadsArgs(const UlyssesShape& u, BshdView<const void> in,
                                                void* send) {
  return Pack(u, in, u.P > 0 ? u.h / u.P * in.head_stride : 0, send);
}

absl::StatusOr<Copy3dArgs> UlyssesUnpackTokensArgs(const UlyssesShape& u, const void* recv,
                                                   BshdView<void> out) {
  return Unpack(u, recv, out, u.s * out.row_stride);
}

absl::StatusOr<Copy3dArgs> UlyssesPackTokensArgs(const UlyssesShape& u, BshdView<const void> in,
                                                 void* send) {
  return Pack(u, in, u.s * in.row_stride, send);
}

absl::StatusOr<Copy3dArgs> UlyssesUnpackHeadsArgs(const UlyssesShape& u, const void* recv,
                                                  BshdView<void> out) {
  return Unpack(u, recv, out, u.P > 0 ? u.h / u.P * out.head_stride : 0);
}

absl::StatusOr<GatherRowsArgs> GatherRowsArgsOf(const GatherShape& g, BshdView<const void> in,
                                                const int64_t* index, BshdView<void> out) {
  if (g.b < 0 || g.rows < 0 || g.h < 1 || g.d < 1 || g.elem_bytes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("gather rows: bad shape b=", g.b, " rows=", g.rows, " h=", g.h, " d=", g.d));
  }
  if (auto s = CheckView(in, g.d, "gather rows in"); !s.ok()) return s;
  if (auto s = CheckView(out, g.d, "gather rows out"); !s.ok()) return s;
  if (index == nullptr && g.rows > 0)
    return absl::InvalidArgumentError("gather rows: index is null");
  const int64_t e = g.elem_bytes;
  GatherRowsArgs a;
  a.src = in.data;
  a.dst = out.data;
  a.index = index;
  a.batch = g.b;
  a.rows = g.rows;
  a.src_batch_stride = in.batch_stride * e;
  a.src_row_stride = in.row_stride * e;
  a.dst_batch_stride = out.batch_stride * e;
  a.dst_row_stride = out.row_stride * e;
  a.inner_bytes = g.h * g.d * e;
  return a;
}

}  // namespace spindle::kernels
