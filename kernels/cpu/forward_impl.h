// Flash-style forward for one (q-block, batch, head) task: the block's
// queries stream over all key tiles with an online softmax, so memory is one
// tile per thread. Scores are kept transposed, (keys × queries), so the
// softmax's max and sum run across rows (plain vector ops, no horizontal
// reductions) and K and V are read in place without packing. Include only
// from a kernels_<isa>.cc translation unit; see [ISA dispatch] in isa.h.
#pragma once

#ifndef SPINDLE_CPU_ISA
#error "include from a kernels_<isa>.cc translation unit"
#endif

namespace spindle::kernels::cpu::SPINDLE_CPU_ISA {

// Online-softmax update for one key tile. st (nk × kBlockQ) holds scores in
// log2 units, -inf where masked; on return it holds p = 2^(score - m_new),
// and m, l, alpha are updated per query (lanes past nq are don't-care).
inline void ForwardSoftmaxTile(int64_t nk, int64_t nq, float* st, float* m, float* l,
                               float* alpha) {
  constexpr int kW = Vec::kWidth;
  constexpr int64_t ld = kBlockQ;
  // Guards [-inf rows]: m_use = max(m_new, -FLT_MAX) keeps 2^(-inf - m_use) = 0
  // for a query that has seen no visible key yet, instead of NaN.
  const Vec::F lowest = Vec::Set1(-std::numeric_limits<float>::max());
  for (int64_t i0 = 0; i0 < nq; i0 += kW) {
    Vec::F mx = Vec::Set1(-std::numeric_limits<float>::infinity());
    for (int64_t j = 0; j < nk; ++j) mx = Vec::Max(mx, Vec::Load(st + j * ld + i0));
    const Vec::F m_old = Vec::Load(m + i0);
    const Vec::F m_new = Vec::Max(m_old, mx);
    const Vec::F m_use = Vec::Max(m_new, lowest);
    Vec::F sum0 = Vec::Zero(), sum1 = Vec::Zero();
    int64_t j = 0;
    for (; j + 2 <= nk; j += 2) {
      float* r0 = st + j * ld + i0;
      float* r1 = r0 + ld;
      const Vec::F p0 = Exp2(Vec::Sub(Vec::Load(r0), m_use));
      const Vec::F p1 = Exp2(Vec::Sub(Vec::Load(r1), m_use));
      Vec::Store(r0, p0);
      Vec::Store(r1, p1);
      sum0 = Vec::Add(sum0, p0);
      sum1 = Vec::Add(sum1, p1);
    }
    if (j < nk) {
      float* r0 = st + j * ld + i0;
      const Vec::F p0 = Exp2(Vec::Sub(Vec::Load(r0), m_use));
      Vec::Store(r0, p0);
      sum0 = Vec::Add(sum0, p0);
    }
    const Vec::F a = Exp2(Vec::Sub(m_old, m_use));
    Vec::Store(l + i0, Vec::Fma(Vec::Load(l + i0), a, Vec::Add(sum0, sum1)));
    Vec::Store(m + i0, m_new);
    Vec::Store(alpha + i0, a);
  }
}

// Folds key tile [t0, t0 + kBlockK) into the block's online softmax state in
// s (o_acc overwritten when fresh). Returns false when no key is visible.
inline bool ForwardKeyTile(const AttentionProblem& p, int64_t nq, int64_t q_min, int64_t q_max,
                           const float* k, const float* v, int64_t t0, bool fresh,
                           const ForwardScratch& s) {
  int64_t j0 = t0, nk = std::min(kBlockK, p.s_k - t0);
  TileClass cls;
  if (!TrimKeyTile(p, q_min, q_max, &j0, &nk, s.k_limit, &cls)) return false;
  const bool partial = cls == TileClass::kPartial;
  const bool exact = partial && ComputeSpans(s.k_limit, nk, s.q_limit, nq, s.spans);

  GemmOperands sc;  // st (nk × nq) = K (nk × d) · (c·Q)ᵀ
  sc.a = k + j0 * p.k.row_stride;
  sc.a_rs = p.k.row_stride;
  sc.a_ks = 1;
  sc.b = s.qt;
  sc.ldb = kBlockQ;
  sc.c = s.st;
  sc.ldc = kBlockQ;
  sc.k = p.d;
  if (partial) {  // key rows: only the queries that see them
    sc.n_begin = s.spans.key_q_begin;
    sc.n_end = s.spans.key_q_end;
  }
  Gemm<Vec::kScoreMr, Vec::kScoreNv>(nk, nq, sc);
  if (partial) MaskTile(s.k_limit, nk, s.q_limit, nq, q_min, s.spans, exact, s.st, kBlockQ);
  ForwardSoftmaxTile(nk, nq, s.st, s.m, s.l, s.alpha);

  GemmOperands pv;  // o_acc (nq × d) = alpha ∘ o_acc + P (nq × nk) · V (nk × d)
  pv.a = s.st;
  pv.a_rs = 1;
  pv.a_ks = kBlockQ;
  pv.b = v + j0 * p.v.row_stride;
  pv.ldb = p.v.row_stride;
  pv.c = s.o_acc;
  pv.ldc = PaddedD(p.d);
  pv.k = nk;
  pv.init = fresh ? CInit::kZero : CInit::kScaleAdd;
  pv.row_scale = s.alpha;
  if (partial) {
    pv.k_begin = s.spans.q_k_begin;
    pv.k_end = s.spans.q_k_end;
  }
  Gemm<Vec::kOutMr, Vec::kOutNv>(nq, p.d, pv);
  return true;
}

inline void ForwardTask(const AttentionProblem& p, const AttentionForwardOut& out, int64_t task,
                        float* scratch) {
  ForwardScratch s;
  LayoutForwardScratch(p.d, scratch, &s);
  const int64_t q_blocks = CeilDiv(p.s_q, kBlockQ);
  const int64_t qb = q_blocks - 1 - task / (p.b * p.h);
  const int64_t bi = task % (p.b * p.h) / p.h;
  const int64_t hq = task % p.h;
  const int64_t g = hq / (p.h / p.h_kv);
  const int64_t i0 = qb * kBlockQ;
  const int64_t nq = std::min(kBlockQ, p.s_q - i0);
  const float* q = p.q.data + bi * p.q.batch_stride + i0 * p.q.row_stride + hq * p.q.head_stride;
  const float* k = p.k.data + bi * p.k.batch_stride + g * p.k.head_stride;
  const float* v = p.v.data + bi * p.v.batch_stride + g * p.v.head_stride;
  float* o = out.o.data + bi * out.o.batch_stride + i0 * out.o.row_stride + hq * out.o.head_stride;
  float* lse = out.lse.data + bi * out.lse.batch_stride + hq * out.lse.head_stride + i0;

  int64_t q_min = kNoKey, q_max = kNoQuery;
  for (int64_t i = 0; i < nq; ++i) {
    s.q_limit[i] = QueryLimit(p, i0 + i);
    q_min = std::min(q_min, s.q_limit[i]);
    q_max = std::max(q_max, s.q_limit[i]);
    s.m[i] = -std::numeric_limits<float>::infinity();
    s.l[i] = 0.0f;
  }
  bool any = false;  // whether o_acc, m, l were touched
  if (q_max != kNoQuery) {
    PackTransposed(q, p.q.row_stride, nq, p.d, p.scale * kLog2e, s.qt, kBlockQ);
    for (int64_t t0 = 0; t0 < p.s_k; t0 += kBlockK) {
      any |= ForwardKeyTile(p, nq, q_min, q_max, k, v, t0, /*fresh=*/!any, s);
    }
  }

  for (int64_t i = 0; i < nq; ++i) {
    float* o_row = o + i * out.o.row_stride;
    if (any && s.l[i] > 0.0f) {
      WriteRow(s.o_acc + i * PaddedD(p.d), p.d, 1.0f / s.l[i], /*add=*/false, o_row);
      lse[i] = static_cast<float>((s.m[i] + std::log2(static_cast<double>(s.l[i]))) * kLn2d);
    } else {
      ZeroRow(p.d, o_row);
      lse[i] = -std::numeric_limits<float>::infinity();
    }
  }
}

}  // namespace spindle::kernels::cpu::SPINDLE_CPU_ISA
