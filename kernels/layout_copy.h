// Data movement of the sequence-parallel layouts as plain copy descriptors:
// the pure half shared by the host copies (cpu/copy.h) and the CUDA kernels
// (cuda/layout_copy.h), so the index maps are decided, validated and tested
// once, and a backend only walks a descriptor.
//
// Tensors are (b, s, h, d) views whose d is contiguous (BshdView, strides in
// elements); descriptors are in bytes.
//
// Ulysses (P ranks, each holding s local tokens of all h heads):
//   forward  PackHeads:    (b, s, h, d)      → P segments (b, s, h/P, d), segment j = heads j·h/P…
//            all-to-all, then
//            UnpackTokens: P segments (b, s, h/P, d) from ranks i → (b, P·s, h/P, d), rank i's
//                          tokens at rows i·s…
//   backward PackTokens and UnpackHeads are their inverses.
// Zigzag/striped permutes gather rows by an index array (GatherRows).
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "kernels/attention.h"
#include "kernels/copy_args.h"

namespace spindle::kernels {

struct UlyssesShape {
  int64_t b = 0, s = 0, h = 0, d = 0;  // the local (b, s, h, d) of one rank before the exchange
  int64_t P = 1;                       // divides h
  int64_t elem_bytes = 2;
  // Distance in bytes between consecutive segments of the exchange buffer; 0
  // packs them back to back (b·s·h/P·d·elem_bytes). A larger distance lets
  // several tensors share one all-to-all, each at its own offset in every
  // segment (the caller offsets the buffer pointer).
  int64_t segment_bytes = 0;
};

// The four Ulysses copies. The tensor side needs its heads contiguous (head
// stride d); segments are contiguous (b, s, h/P, d) blocks. InvalidArgument
// names what is wrong.
absl::StatusOr<Copy3dArgs> UlyssesPackHeadsArgs(const UlyssesShape& u, BshdView<const void> in,
                                                void* send);
absl::StatusOr<Copy3dArgs> UlyssesUnpackTokensArgs(const UlyssesShape& u, const void* recv,
                                                   BshdView<void> out);
absl::StatusOr<Copy3dArgs> UlyssesPackTokensArgs(const UlyssesShape& u, BshdView<const void> in,
                                                 void* send);
absl::StatusOr<Copy3dArgs> UlyssesUnpackHeadsArgs(const UlyssesShape& u, const void* recv,
                                                  BshdView<void> out);

// out[b, i] = in[b, index[i]] for i < rows, whole tokens (h·d elements,
// heads contiguous). The caller guarantees index entries are in range.
struct GatherShape {
  int64_t b = 0, rows = 0, h = 0, d = 0;
  int64_t elem_bytes = 2;
};
absl::StatusOr<GatherRowsArgs> GatherRowsArgsOf(const GatherShape& g, BshdView<const void> in,
                                                const int64_t* index, BshdView<void> out);

}  // namespace spindle::kernels
