// Block attention: one block of queries against one block of keys/values,
// returning the output together with its log-sum-exp so that partial results
// over disjoint key sets merge exactly (ring steps, Ulysses heads, USP).
//
// This header is the plain-pointer API shared by the CPU and CUDA kernels. It
// knows nothing of torch, processes or communication; worker/sp/ adapts
// tensors to it. Dimension letters are defined in kernels/README.md.
#pragma once

#include <cstdint>
#include <limits>

#include "absl/status/status.h"

namespace spindle::kernels {

class ThreadPool;

// A (b, s, h, d) tensor whose last dimension is contiguous. Strides are in
// elements, not bytes.
template <typename T>
struct BshdView {
  T* data = nullptr;
  int64_t batch_stride = 0;
  int64_t row_stride = 0;  // between consecutive tokens
  int64_t head_stride = 0;
};

// A (b, h, s) tensor of per-row statistics whose last dimension is contiguous.
template <typename T>
struct BhsView {
  T* data = nullptr;
  int64_t batch_stride = 0;
  int64_t head_stride = 0;
};

inline constexpr int64_t kNoPadding = std::numeric_limits<int64_t>::max();

// What one kernel call attends over. Masks are written in *global token
// positions*, so one kernel serves every ring step and every layout
// (contiguous, zigzag, striped, padded): key j is visible to query i iff
//
//   q_pos[i] < valid_len && k_pos[j] < valid_len && (!causal || k_pos[j] <= q_pos[i])
//
// A query row with no visible key is a *masked row*: o = 0, lse = -inf.
// GQA/MQA: query head hq reads key/value head hq / (h / h_kv); repeated
// key/value heads are never materialised.
struct AttentionProblem {
  BshdView<const float> q;  // (b, s_q, h, d)
  BshdView<const float> k;  // (b, s_k, h_kv, d)
  BshdView<const float> v;  // (b, s_k, h_kv, d)
  int64_t b = 0;
  int64_t s_q = 0;
  int64_t s_k = 0;
  int64_t h = 0;     // query heads
  int64_t h_kv = 0;  // key/value heads; divides h
  int64_t d = 0;     // head dim, same for q, k and v
  float scale = 0;   // applied to q·k before the softmax, usually 1/sqrt(d)
  bool causal = false;
  const int64_t* q_pos = nullptr;  // (s_q) global positions; nullptr means 0..s_q-1
  const int64_t* k_pos = nullptr;  // (s_k) global positions; nullptr means 0..s_k-1
  int64_t valid_len = kNoPadding;  // positions >= valid_len are padding
};

// Forward results. lse is the natural-log log-sum-exp of the scaled scores
// over the visible keys (-inf for a masked row); o is normalised, as
// FlashAttention returns it.
struct AttentionForwardOut {
  BshdView<float> o;   // (b, s_q, h, d)
  BhsView<float> lse;  // (b, h, s_q)
};

// Backward inputs. o and lse are the *global* results (after merging every
// block the query rows attend to), not this block's: with them each block's
// gradient is exact on its own and block gradients simply add up.
struct AttentionBackwardIn {
  BshdView<const float> o;    // (b, s_q, h, d)
  BshdView<const float> d_o;  // (b, s_q, h, d)
  BhsView<const float> lse;   // (b, h, s_q)
};

// Backward results. With accumulate = true the gradients are added to what
// the buffers hold (ring steps sum block gradients); otherwise overwritten.
struct AttentionBackwardOut {
  BshdView<float> dq;  // (b, s_q, h, d)
  BshdView<float> dk;  // (b, s_k, h_kv, d)
  BshdView<float> dv;  // (b, s_k, h_kv, d)
  bool accumulate = false;
};

// Each returns InvalidArgument naming the offending field when the problem is
// malformed (non-positive sizes, h % h_kv != 0, null pointers, negative
// strides, output strides that make elements overlap, negative positions,
// valid_len < 0, non-finite scale). pool may be nullptr to run on the calling
// thread. Results are bitwise identical whatever the pool size.
absl::Status AttentionForward(const AttentionProblem& p, const AttentionForwardOut& out,
                              ThreadPool* pool);
absl::Status AttentionBackward(const AttentionProblem& p, const AttentionBackwardIn& in,
                               const AttentionBackwardOut& out, ThreadPool* pool);

// Merges a block result (o_blk, lse_blk) into a running result (o, lse) over
// disjoint key sets, in place, in fp32:
//   lse' = max(a, b) + log1p(exp(-|a - b|));  o' = exp(a - lse')·o + exp(b - lse')·o_blk
// with the empty cases first: lse_blk = -inf leaves the row as it is;
// lse = -inf takes the block's row; both give o = 0, lse = -inf.
struct MergeProblem {
  BshdView<float> o;             // (b, s, h, d) running output, updated
  BhsView<float> lse;            // (b, h, s) running lse, updated
  BshdView<const float> o_blk;   // (b, s, h, d)
  BhsView<const float> lse_blk;  // (b, h, s)
  int64_t b = 0;
  int64_t s = 0;
  int64_t h = 0;
  int64_t d = 0;
};
absl::Status MergeAttention(const MergeProblem& m, ThreadPool* pool);

}  // namespace spindle::kernels
