// Float64 reference attention: the naive, obviously correct oracle that the
// fp32 kernels and the sequence-parallel schedules are tested against. Same
// semantics as kernels/attention.h (global positions, valid_len, causal,
// GQA/MQA, masked rows: o = 0, lse = -inf), but on contiguous row-major
// doubles, one query row at a time, with the softmax materialised. The
// backward is the textbook chain rule through that softmax (its Jacobian
// uses Σ_l p_l·dp_l), not the kernel's D = rowsum(dO ∘ O) shortcut, so the
// two are independent derivations. O(s_q·s_k) time per head, O(s_k) memory.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace spindle::kernels::reference {

// Layouts, all contiguous:
//   q, o, d_o, dq  (b, s_q, h, d)     k, v, dk, dv  (b, s_k, h_kv, d)
//   lse            (b, h, s_q), natural log of the scaled scores' sum of exps
struct Problem {
  int64_t b = 1;
  int64_t s_q = 0;
  int64_t s_k = 0;
  int64_t h = 1;
  int64_t h_kv = 1;  // divides h; query head hq reads kv head hq / (h / h_kv)
  int64_t d = 0;
  double scale = 0;  // multiplies q·k, usually 1/sqrt(d)
  bool causal = false;
  std::vector<int64_t> q_pos;  // (s_q) global positions; empty means 0..s_q-1
  std::vector<int64_t> k_pos;  // (s_k) global positions; empty means 0..s_k-1
  int64_t valid_len = std::numeric_limits<int64_t>::max();  // kernels::kNoPadding
};

// Key j visible to query i: both positions < valid_len and, when causal,
// k_pos[j] <= q_pos[i].
bool Visible(const Problem& p, int64_t i, int64_t j);

struct ForwardResult {
  std::vector<double> o;    // (b, s_q, h, d)
  std::vector<double> lse;  // (b, h, s_q)
};

struct Gradients {
  std::vector<double> dq;  // (b, s_q, h, d)
  std::vector<double> dk;  // (b, s_k, h_kv, d)
  std::vector<double> dv;  // (b, s_k, h_kv, d)
};

// Abort with a message when an input's size does not match p (a misuse of
// the oracle, not a recoverable error).
ForwardResult Forward(const Problem& p, const std::vector<double>& q, const std::vector<double>& k,
                      const std::vector<double>& v);
// Gradients of Σ o ∘ d_o with respect to q, k and v.
Gradients Backward(const Problem& p, const std::vector<double>& q, const std::vector<double>& k,
                   const std::vector<double>& v, const std::vector<double>& d_o);

}  // namespace spindle::kernels::reference
