// The Ulysses all-to-all buffers on tensors of either device: the torch side
// of kernels/layout_copy.h. A buffer is (U, seg) elements of the parts'
// dtype; several parts share it, each at its own offset inside every
// segment, so one all-to-all moves q, k and v together.
//
// CPU tensors are copied by the host loop, CUDA tensors by the copy kernel
// on libtorch's current stream; both walk the same descriptors.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace spindle::sp {

// Where one part lives in every segment: elements [offset, offset + b·L·n·d)
// of segment j hold a (b, L, n, d) block.
struct SegmentPart {
  int64_t offset = 0;
  int64_t b = 0, l = 0, n = 0, d = 0;
};

// t (b, L, U·n, d): heads [j·n, (j+1)·n) of all L tokens -> segment j of send.
void PackHeads(const at::Tensor& t, const SegmentPart& part, at::Tensor& send);
// t (b, U·L, n, d): tokens [j·L, (j+1)·L) of all n heads -> segment j of send.
void PackTokens(const at::Tensor& t, const SegmentPart& part, at::Tensor& send);
// Segment j of recv -> tokens [j·L, (j+1)·L) of a new (b, U·L, n, d).
at::Tensor UnpackTokens(const at::Tensor& recv, const SegmentPart& part);
// Segment j of recv -> heads [j·n, (j+1)·n) of a new (b, L, U·n, d).
at::Tensor UnpackHeads(const at::Tensor& recv, const SegmentPart& part);

}  // namespace spindle::sp
