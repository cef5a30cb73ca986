// Device-side data movement of the sequence-parallel layouts, on (b, s, h, d)
// tensors of any element size whose d is contiguous. Strides in elements.
//
// Ulysses (P ranks, each holding s local tokens of all h heads):
//   forward  PackHeads:    (b, s, h, d)      → P segments (b, s, h/P, d), segment j = heads j·h/P…
//            all-to-all, then
//            UnpackTokens: P segments (b, s, h/P, d) from ranks i → (b, P·s, h/P, d), rank i's
//                          tokens at rows i·s…
//   backward PackTokens and UnpackHeads are their inverses.
// Zigzag/striped permutes gather rows by an index array (GatherRows).
// All calls are asynchronous on `stream` (a cudaStream_t; nullptr: default).
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "kernels/attention.h"

namespace spindle::kernels::cuda {

struct UlyssesShape {
  int64_t b = 0, s = 0, h = 0, d = 0;  // the local (b, s, h, d) of one rank
  int64_t P = 1;                       // divides h
  int64_t elem_bytes = 2;
};

// Segments are contiguous (b, s, h/P, d) blocks, one after another.
absl::Status UlyssesPackHeads(const UlyssesShape& u, BshdView<const void> in, void* send,
                              void* stream);
absl::Status UlyssesUnpackTokens(const UlyssesShape& u, const void* recv, BshdView<void> out,
                                 void* stream);
absl::Status UlyssesPackTokens(const UlyssesShape& u, BshdView<const void> in, void* send,
                               void* stream);
absl::Status UlyssesUnpackHeads(const UlyssesShape& u, const void* recv, BshdView<void> out,
                                void* stream);

// out[b, i] = in[b, index[i]] for i < rows, whole tokens (h·d elements at
// head stride d, i.e. heads contiguous). index is a device array whose
// entries the caller guarantees are in [0, rows_in).
struct GatherShape {
  int64_t b = 0, rows = 0, h = 0, d = 0;
  int64_t elem_bytes = 2;
};
absl::Status GatherRows(const GatherShape& g, BshdView<const void> in, const int64_t* index,
                        BshdView<void> out, void* stream);

}  // namespace spindle::kernels::cuda
