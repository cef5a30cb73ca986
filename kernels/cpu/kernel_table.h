// The contract between the CPU dispatcher (attention.cc) and the per-ISA
// kernel instantiations (kernels_<isa>.cc): tile sizes, task numbering,
// per-thread scratch layout, mask classification, and the table of task
// functions each ISA exports. Everything here is ISA-neutral; it is included
// before any `#pragma GCC target`, so its inline functions keep the baseline
// target. See [ISA dispatch] in isa.h.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

#include "kernels/attention.h"

namespace spindle::kernels::cpu {

// Queries per forward block and per backward tile, and keys per tile. Both
// query counts are multiples of every micro-tile shape (rows 4, 6, 8; 16, 8
// and 4 lanes). The backward's longer query tiles halve how often the key
// tile's K, V, dK and dV stream through the caches.
inline constexpr int64_t kBlockQ = 96;
inline constexpr int64_t kBwdBlockQ = 192;
inline constexpr int64_t kBlockK = 64;

inline constexpr float kLog2e = 1.4426950408889634f;
inline constexpr double kLn2d = 0.6931471805599453;

inline int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// [Mask limits] Key j is visible to query i iff KeyLimit(j) <= QueryLimit(i).
// This folds valid_len, causal and masked rows into one comparison, which tile
// classification reduces to the min/max of each side. Positions are >= 0
// (validated), so kNoQuery is below every key limit.
inline constexpr int64_t kNoQuery = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kNoKey = std::numeric_limits<int64_t>::max();

inline int64_t QueryLimit(const AttentionProblem& p, int64_t i) {
  const int64_t pos = p.q_pos != nullptr ? p.q_pos[i] : i;
  if (pos >= p.valid_len) return kNoQuery;
  return p.causal ? pos : kNoKey - 1;
}

inline int64_t KeyLimit(const AttentionProblem& p, int64_t j) {
  const int64_t pos = p.k_pos != nullptr ? p.k_pos[j] : j;
  return pos < p.valid_len ? pos : kNoKey;
}

enum class TileClass { kMasked, kFull, kPartial };

// Classifies a (queries × keys) tile from the range of its limits.
inline TileClass Classify(int64_t q_min, int64_t q_max, int64_t k_min, int64_t k_max) {
  if (k_min > q_max) return TileClass::kMasked;
  if (k_max <= q_min) return TileClass::kFull;
  return TileClass::kPartial;
}

// The keys [*j0, *j0 + *nk) of one tile against a query block whose limits
// span [q_min, q_max]: fills k_limit, narrows the tile to the keys from the
// first to the last one that some query can see (trailing keys past the
// causal diagonal cost nothing) and classifies what is left. Returns false
// when no key is visible.
inline bool TrimKeyTile(const AttentionProblem& p, int64_t q_min, int64_t q_max, int64_t* j0,
                        int64_t* nk, int64_t* k_limit, TileClass* cls) {
  int64_t lo = -1, hi = -1;
  for (int64_t j = 0; j < *nk; ++j) {
    k_limit[j] = KeyLimit(p, *j0 + j);
    if (k_limit[j] <= q_max) {
      if (lo < 0) lo = j;
      hi = j + 1;
    }
  }
  if (lo < 0) return false;
  int64_t k_min = kNoKey, k_max = kNoQuery;
  for (int64_t j = lo; j < hi; ++j) {
    k_limit[j - lo] = k_limit[j];
    k_min = std::min(k_min, k_limit[j - lo]);
    k_max = std::max(k_max, k_limit[j - lo]);
  }
  *j0 += lo;
  *nk = hi - lo;
  *cls = Classify(q_min, q_max, k_min, k_max);
  return *cls != TileClass::kMasked;
}

// Per-row visible spans of a partial tile, [begin, end) (empty: end <= begin),
// so the products over keys or queries skip what the mask zeroes.
struct TileSpans {
  int32_t* key_q_begin;  // (kBlockK) per key: the queries that see it
  int32_t* key_q_end;
  int32_t* q_k_begin;  // (queries) per query: the keys it sees
  int32_t* q_k_end;
};

// Fills the spans of a partial tile from the limits alone, so that the score
// products can already skip what the mask will discard. Returns whether the
// spans are exact (every entry inside a span is visible): so when both limit
// sequences are non-decreasing (contiguous, zigzag and striped blocks), which
// also makes this O(nk + nq); otherwise spans are hulls, found in O(nk·nq).
inline bool ComputeSpans(const int64_t* k_limit, int64_t nk, const int64_t* q_limit, int64_t nq,
                         const TileSpans& spans) {
  if (std::is_sorted(k_limit, k_limit + nk) && std::is_sorted(q_limit, q_limit + nq)) {
    int64_t i = 0;  // queries that see key j: [first with limit >= k_limit[j], nq)
    for (int64_t j = 0; j < nk; ++j) {
      while (i < nq && q_limit[i] < k_limit[j]) ++i;
      spans.key_q_begin[j] = static_cast<int32_t>(i);
      spans.key_q_end[j] = static_cast<int32_t>(nq);
    }
    int64_t j = 0;  // keys seen by query i: [0, first with limit > q_limit[i])
    for (i = 0; i < nq; ++i) {
      while (j < nk && k_limit[j] <= q_limit[i]) ++j;
      spans.q_k_begin[i] = 0;
      spans.q_k_end[i] = static_cast<int32_t>(j);
    }
    return true;
  }
  for (int64_t i = 0; i < nq; ++i) {
    spans.q_k_begin[i] = static_cast<int32_t>(nk);
    spans.q_k_end[i] = 0;
  }
  for (int64_t j = 0; j < nk; ++j) {
    int32_t begin = static_cast<int32_t>(nq), end = 0;
    for (int64_t i = 0; i < nq; ++i) {
      if (k_limit[j] > q_limit[i]) continue;
      begin = std::min(begin, static_cast<int32_t>(i));
      end = static_cast<int32_t>(i + 1);
      spans.q_k_begin[i] = std::min(spans.q_k_begin[i], static_cast<int32_t>(j));
      spans.q_k_end[i] = static_cast<int32_t>(j + 1);
    }
    spans.key_q_begin[j] = begin;
    spans.key_q_end[j] = end;
  }
  return false;
}

// Sets the invisible entries of a (keys × queries) score tile to -inf,
// including any that a spanned product left unwritten. With exact spans
// that is everything outside each key's span; otherwise entry by entry,
// skipping keys visible to every query (limit <= q_min).
inline void MaskTile(const int64_t* k_limit, int64_t nk, const int64_t* q_limit, int64_t nq,
                     int64_t q_min, const TileSpans& spans, bool exact, float* st, int64_t ld) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < nk; ++j) {
    if (k_limit[j] <= q_min) continue;
    float* row = st + j * ld;
    if (exact) {
      const int64_t begin = std::min<int64_t>(spans.key_q_begin[j], nq);
      std::fill(row, row + begin, kNegInf);
      std::fill(row + std::max<int64_t>(begin, spans.key_q_end[j]), row + nq, kNegInf);
      continue;
    }
    for (int64_t i = 0; i < nq; ++i) {
      if (k_limit[j] > q_limit[i]) row[i] = kNegInf;
    }
  }
}

// Hands out 64-byte-aligned pieces of one per-thread scratch block; with a
// null base it only counts, so sizing and carving share one layout function.
class ScratchCarver {
 public:
  explicit ScratchCarver(float* base) : base_(base) {}
  template <typename T>
  T* Take(int64_t n) {
    static_assert(sizeof(T) == 4 || sizeof(T) == 8);
    const int64_t floats = (n * static_cast<int64_t>(sizeof(T)) / 4 + 15) / 16 * 16;
    T* out = base_ != nullptr ? reinterpret_cast<T*>(base_ + used_) : nullptr;
    used_ += floats;
    return out;
  }
  int64_t used() const { return used_; }

 private:
  float* base_;
  int64_t used_ = 0;
};

// Head dim rounded up to whole 16-lane vectors: row stride of accumulators.
inline int64_t PaddedD(int64_t d) { return (d + 15) / 16 * 16; }

// Forward, per thread. Shapes use q = kBlockQ, k = kBlockK.
struct ForwardScratch {
  float* qt;         // (d, q) queries of the block, transposed, times scale·log2(e)
  float* st;         // (k, q) scores in log2 units, then probabilities
  float* o_acc;      // (q, PaddedD(d)) unnormalised output
  float* m;          // (q) running max, log2 units
  float* l;          // (q) running sum of exp2(score - m)
  float* alpha;      // (q) rescale of o_acc for the current key tile
  int64_t* q_limit;  // (q)
  int64_t* k_limit;  // (k)
  TileSpans spans;
};

inline TileSpans TakeSpans(ScratchCarver& c, int64_t queries) {
  return {c.Take<int32_t>(kBlockK), c.Take<int32_t>(kBlockK), c.Take<int32_t>(queries),
          c.Take<int32_t>(queries)};
}

inline int64_t LayoutForwardScratch(int64_t d, float* base, ForwardScratch* s) {
  ScratchCarver c(base);
  s->qt = c.Take<float>(d * kBlockQ);
  s->st = c.Take<float>(kBlockK * kBlockQ);
  s->o_acc = c.Take<float>(kBlockQ * PaddedD(d));
  s->m = c.Take<float>(kBlockQ);
  s->l = c.Take<float>(kBlockQ);
  s->alpha = c.Take<float>(kBlockQ);
  s->q_limit = c.Take<int64_t>(kBlockQ);
  s->k_limit = c.Take<int64_t>(kBlockK);
  s->spans = TakeSpans(c, kBlockQ);
  return c.used();
}

// Backward, per thread. Shapes use q = kBwdBlockQ, k = kBlockK.
struct BackwardScratch {
  float* qt;         // (d, q) queries transposed, times scale·log2(e)
  float* dot;        // (d, q) dO transposed
  float* st;         // (k, q) scores, then P
  float* dpt;        // (k, q) dP, then dS (scale included)
  float* dq_acc;     // (q, PaddedD(d))
  float* lse2;       // (q) lse·log2(e); 0 for masked rows
  float* dd;         // (q) D_i = rowsum(dO ∘ O)
  int64_t* q_limit;  // (q)
  int64_t* k_limit;  // (k)
  TileSpans spans;
  int32_t* touched;  // (CeilDiv(s_k, k)) whether the task wrote the key tile's dk, dv
};

inline int64_t LayoutBackwardScratch(int64_t d, int64_t s_k, float* base, BackwardScratch* s) {
  ScratchCarver c(base);
  s->qt = c.Take<float>(d * kBwdBlockQ);
  s->dot = c.Take<float>(d * kBwdBlockQ);
  s->st = c.Take<float>(kBlockK * kBwdBlockQ);
  s->dpt = c.Take<float>(kBlockK * kBwdBlockQ);
  s->dq_acc = c.Take<float>(kBwdBlockQ * PaddedD(d));
  s->lse2 = c.Take<float>(kBwdBlockQ);
  s->dd = c.Take<float>(kBwdBlockQ);
  s->q_limit = c.Take<int64_t>(kBwdBlockQ);
  s->k_limit = c.Take<int64_t>(kBlockK);
  s->spans = TakeSpans(c, kBwdBlockQ);
  s->touched = c.Take<int32_t>(CeilDiv(s_k, kBlockK));
  return c.used();
}

// Forward tasks: one per (q-block, batch, head), numbered so that the last
// q-blocks (the most expensive under a causal mask) are handed out first.
inline int64_t ForwardTaskCount(const AttentionProblem& p) {
  return CeilDiv(p.s_q, kBlockQ) * p.b * p.h;
}

// Backward tasks: one per (batch, kv head, q-chunk). A task owns dq of its
// rows for every query head of the group, so dq needs no reduction. Chunk 0
// writes the group's dk/dv in the output; chunks 1.. sum into their own slice
// of `partial`, added afterwards in chunk order.
struct BackwardPlan {
  int64_t chunks = 1;
  int64_t q_tiles = 0;       // CeilDiv(s_q, kBwdBlockQ)
  float* partial = nullptr;  // chunks > 1: (b, h_kv, chunks - 1, 2, s_k, d), dk then dv
};

inline int64_t BackwardTaskCount(const AttentionProblem& p, const BackwardPlan& plan) {
  return p.b * p.h_kv * plan.chunks;
}

using ForwardTaskFn = void (*)(const AttentionProblem& p, const AttentionForwardOut& out,
                               int64_t task, float* scratch);
using BackwardTaskFn = void (*)(const AttentionProblem& p, const AttentionBackwardIn& in,
                                const AttentionBackwardOut& out, const BackwardPlan& plan,
                                int64_t task, float* scratch);

// y[i] = 2^x[i]: the vectorised exp of the softmax, exported for its tests.
using Exp2ArrayFn = void (*)(const float* x, float* y, int64_t n);

struct KernelTable {
  const char* name;
  ForwardTaskFn forward;
  BackwardTaskFn backward;
  Exp2ArrayFn exp2;
};

// Defined in kernels_sse2.cc, kernels_avx2.cc and kernels_avx512.cc.
extern const KernelTable kSse2Kernels;
extern const KernelTable kAvx2Kernels;
extern const KernelTable kAvx512Kernels;

}  // namespace spindle::kernels::cpu
