// Flash-style backward for one (batch, kv head, q-chunk) task, from the
// global o and lse (sp-algorithms.md §2):
//   P = exp(s - lse)   D_i = Σ dO_i·O_i   dS = P ∘ (dO·Vᵀ - D)
//   dV += Pᵀ·dO        dQ += τ·dS·K        dK += τ·dSᵀ·Q
// Query tiles are the outer loop (their Qᵀ, dOᵀ are packed once), key tiles
// the inner; tiles are (keys × queries) as in the forward. Include only from
// a kernels_<isa>.cc translation unit; see [ISA dispatch] in isa.h.
#pragma once

#ifndef SPINDLE_CPU_ISA
#error "include from a kernels_<isa>.cc translation unit"
#endif

namespace spindle::kernels::cpu::SPINDLE_CPU_ISA {

// st: log2 scores -> P; dpt: dP -> dS = scale·P∘(dP - D). Masked entries of st
// are -inf and masked rows have lse2 = 0, so P = 0 (and dS = 0) there.
inline void BackwardSoftmaxTile(int64_t nk, int64_t nq, const float* lse2, const float* dd,
                                float scale, float* st, float* dpt) {
  constexpr int kW = Vec::kWidth;
  constexpr int64_t ld = kBwdBlockQ;
  const Vec::F sc = Vec::Set1(scale);
  for (int64_t i0 = 0; i0 < nq; i0 += kW) {
    const Vec::F l2 = Vec::Load(lse2 + i0);
    const Vec::F di = Vec::Load(dd + i0);
    for (int64_t j = 0; j < nk; ++j) {
      float* ps = st + j * ld + i0;
      float* pd = dpt + j * ld + i0;
      const Vec::F pr = Exp2(Vec::Sub(Vec::Load(ps), l2));
      Vec::Store(ps, pr);
      // Entries a spanned product skipped hold stale dP; P = 0 there.
      const Vec::F dp = Vec::KeepWhereNonzero(Vec::Load(pd), pr);
      Vec::Store(pd, Vec::Mul(Vec::Mul(pr, sc), Vec::Sub(dp, di)));
    }
  }
}

// Where a task's dk and dv go: the output itself (one chunk, or chunk 0) or
// the task's partial slice. fresh: the target holds nothing to add to, so
// each key tile's first product overwrites it (no zeroing pass).
struct KvGradTarget {
  float* dk;
  int64_t dk_rs;
  float* dv;
  int64_t dv_rs;
  bool fresh;
};

inline KvGradTarget KvTarget(const AttentionProblem& p, const AttentionBackwardOut& out,
                             const BackwardPlan& plan, int64_t bi, int64_t g, int64_t chunk) {
  if (chunk == 0) {
    return {out.dk.data + bi * out.dk.batch_stride + g * out.dk.head_stride, out.dk.row_stride,
            out.dv.data + bi * out.dv.batch_stride + g * out.dv.head_stride, out.dv.row_stride,
            !out.accumulate};
  }
  float* base =
      plan.partial + ((bi * p.h_kv + g) * (plan.chunks - 1) + chunk - 1) * 2 * p.s_k * p.d;
  return {base, p.d, base + p.s_k * p.d, p.d, /*fresh=*/true};
}

// Zeroes key rows [j_begin, j_end) of a fresh target, except [skip_begin, skip_end).
inline void ZeroKeyRows(const KvGradTarget& kv, int64_t d, int64_t j_begin, int64_t j_end,
                        int64_t skip_begin, int64_t skip_end) {
  for (int64_t j = j_begin; j < j_end; ++j) {
    if (j >= skip_begin && j < skip_end) continue;
    ZeroRow(d, kv.dk + j * kv.dk_rs);
    ZeroRow(d, kv.dv + j * kv.dv_rs);
  }
}

// One query tile of one head: its rows of the inputs and of dq, and the
// range of its query limits.
struct QueryTile {
  const float* q;
  const float* o;
  const float* d_o;
  const float* lse;
  float* dq;
  int64_t i0, nq;
  int64_t q_min, q_max;  // q_max == kNoQuery: every row is masked
};

// Locates query tile `tile` of (bi, hq) and fills its per-row statistics and
// packed operands in s.
inline QueryTile PrepareQueryTile(const AttentionProblem& p, const AttentionBackwardIn& in,
                                  const AttentionBackwardOut& out, int64_t bi, int64_t hq,
                                  int64_t tile, const BackwardScratch& s) {
  QueryTile t;
  t.i0 = tile * kBwdBlockQ;
  t.nq = std::min(kBwdBlockQ, p.s_q - t.i0);
  t.q = p.q.data + bi * p.q.batch_stride + t.i0 * p.q.row_stride + hq * p.q.head_stride;
  t.o = in.o.data + bi * in.o.batch_stride + t.i0 * in.o.row_stride + hq * in.o.head_stride;
  t.d_o =
      in.d_o.data + bi * in.d_o.batch_stride + t.i0 * in.d_o.row_stride + hq * in.d_o.head_stride;
  t.lse = in.lse.data + bi * in.lse.batch_stride + hq * in.lse.head_stride + t.i0;
  t.dq =
      out.dq.data + bi * out.dq.batch_stride + t.i0 * out.dq.row_stride + hq * out.dq.head_stride;
  t.q_min = kNoKey;
  t.q_max = kNoQuery;
  for (int64_t i = 0; i < t.nq; ++i) {
    // A row with lse = -inf saw no key in the forward: mask it whatever its
    // position says, so that exp(s - lse) is never evaluated.
    const bool empty = t.lse[i] == -std::numeric_limits<float>::infinity();
    s.q_limit[i] = empty ? kNoQuery : QueryLimit(p, t.i0 + i);
    const bool masked = s.q_limit[i] == kNoQuery;
    s.lse2[i] = masked ? 0.0f : t.lse[i] * kLog2e;
    s.dd[i] = masked ? 0.0f : RowDot(t.d_o + i * in.d_o.row_stride, t.o + i * in.o.row_stride, p.d);
    t.q_min = std::min(t.q_min, s.q_limit[i]);
    t.q_max = std::max(t.q_max, s.q_limit[i]);
  }
  if (t.q_max != kNoQuery) {
    PackTransposed(t.q, p.q.row_stride, t.nq, p.d, p.scale * kLog2e, s.qt, kBwdBlockQ);
    PackTransposed(t.d_o, in.d_o.row_stride, t.nq, p.d, 1.0f, s.dot, kBwdBlockQ);
  }
  return t;
}

// The five products of one (query tile, key tile) pair: scores and dP, then
// dV, dK into kv and dQ into s.dq_acc (overwritten when dq_fresh). Returns
// false when no key of the tile is visible.
inline bool BackwardKeyTile(const AttentionProblem& p, const AttentionBackwardIn& in,
                            const QueryTile& t, const float* k, const float* v, int64_t t0,
                            bool dq_fresh, const KvGradTarget& kv, const BackwardScratch& s) {
  const int64_t d = p.d, nq = t.nq;
  int64_t j0 = t0, nk = std::min(kBlockK, p.s_k - t0);
  TileClass cls;
  if (!TrimKeyTile(p, t.q_min, t.q_max, &j0, &nk, s.k_limit, &cls)) return false;
  const bool partial = cls == TileClass::kPartial;
  const bool exact = partial && ComputeSpans(s.k_limit, nk, s.q_limit, nq, s.spans);
  const float* k_tile = k + j0 * p.k.row_stride;

  GemmOperands sc;  // st (nk × nq) = K · (c·Q)ᵀ
  sc.a = k_tile;
  sc.a_rs = p.k.row_stride;
  sc.a_ks = 1;
  sc.b = s.qt;
  sc.ldb = kBwdBlockQ;
  sc.c = s.st;
  sc.ldc = kBwdBlockQ;
  sc.k = d;
  if (partial) {  // key rows: only the queries that see them
    sc.n_begin = s.spans.key_q_begin;
    sc.n_end = s.spans.key_q_end;
  }
  Gemm<Vec::kScoreMr, Vec::kScoreNv>(nk, nq, sc);
  GemmOperands dp_op = sc;  // dpt (nk × nq) = V · dOᵀ
  dp_op.a = v + j0 * p.v.row_stride;
  dp_op.a_rs = p.v.row_stride;
  dp_op.b = s.dot;
  dp_op.c = s.dpt;
  Gemm<Vec::kScoreMr, Vec::kScoreNv>(nk, nq, dp_op);
  if (partial) MaskTile(s.k_limit, nk, s.q_limit, nq, t.q_min, s.spans, exact, s.st, kBwdBlockQ);
  BackwardSoftmaxTile(nk, nq, s.lse2, s.dd, p.scale, s.st, s.dpt);

  GemmOperands kv_op;  // dV (nk × d) += Pᵀ (nk × nq) · dO (nq × d)
  kv_op.init = CInit::kAdd;
  const int64_t kt = t0 / kBlockK;
  if (kv.fresh && !s.touched[kt]) {  // first write: overwrite, zero the trimmed rows
    ZeroKeyRows(kv, d, t0, std::min(p.s_k, t0 + kBlockK), j0, j0 + nk);
    kv_op.init = CInit::kZero;
    s.touched[kt] = 1;
  }
  kv_op.a = s.st;
  kv_op.a_rs = kBwdBlockQ;
  kv_op.a_ks = 1;
  kv_op.b = t.d_o;
  kv_op.ldb = in.d_o.row_stride;
  kv_op.c = kv.dv + j0 * kv.dv_rs;
  kv_op.ldc = kv.dv_rs;
  kv_op.k = nq;
  if (partial) {
    kv_op.k_begin = s.spans.key_q_begin;
    kv_op.k_end = s.spans.key_q_end;
  }
  Gemm<Vec::kOutMr, Vec::kOutNv>(nk, d, kv_op);
  kv_op.a = s.dpt;  // dK (nk × d) += dSᵀ · Q
  kv_op.b = t.q;
  kv_op.ldb = p.q.row_stride;
  kv_op.c = kv.dk + j0 * kv.dk_rs;
  kv_op.ldc = kv.dk_rs;
  Gemm<Vec::kOutMr, Vec::kOutNv>(nk, d, kv_op);

  GemmOperands dq_op;  // dq_acc (nq × d) += dS (nq × nk) · K (nk × d)
  dq_op.a = s.dpt;
  dq_op.a_rs = 1;
  dq_op.a_ks = kBwdBlockQ;
  dq_op.b = k_tile;
  dq_op.ldb = p.k.row_stride;
  dq_op.c = s.dq_acc;
  dq_op.ldc = PaddedD(d);
  dq_op.k = nk;
  dq_op.init = dq_fresh ? CInit::kZero : CInit::kAdd;
  if (partial) {
    dq_op.k_begin = s.spans.q_k_begin;
    dq_op.k_end = s.spans.q_k_end;
  }
  Gemm<Vec::kOutMr, Vec::kOutNv>(nq, d, dq_op);
  return true;
}

inline void BackwardTask(const AttentionProblem& p, const AttentionBackwardIn& in,
                         const AttentionBackwardOut& out, const BackwardPlan& plan, int64_t task,
                         float* scratch) {
  BackwardScratch s;
  LayoutBackwardScratch(p.d, p.s_k, scratch, &s);
  // Chunks in descending order: under a causal mask the last rows cost most.
  const int64_t chunk = plan.chunks - 1 - task % plan.chunks;
  const int64_t bi = task / plan.chunks / p.h_kv;
  const int64_t g = task / plan.chunks % p.h_kv;
  const KvGradTarget kv = KvTarget(p, out, plan, bi, g, chunk);
  const float* k = p.k.data + bi * p.k.batch_stride + g * p.k.head_stride;
  const float* v = p.v.data + bi * p.v.batch_stride + g * p.v.head_stride;
  const int64_t k_tiles = CeilDiv(p.s_k, kBlockK);
  for (int64_t kt = 0; kt < k_tiles; ++kt) s.touched[kt] = 0;

  const int64_t group = p.h / p.h_kv;
  for (int64_t hq = g * group; hq < (g + 1) * group; ++hq) {
    for (int64_t tile = chunk * plan.q_tiles / plan.chunks;
         tile < (chunk + 1) * plan.q_tiles / plan.chunks; ++tile) {
      const QueryTile t = PrepareQueryTile(p, in, out, bi, hq, tile, s);
      bool any = false;  // whether dq_acc holds anything
      for (int64_t t0 = 0; t.q_max != kNoQuery && t0 < p.s_k; t0 += kBlockK) {
        any |= BackwardKeyTile(p, in, t, k, v, t0, /*dq_fresh=*/!any, kv, s);
      }
      for (int64_t i = 0; i < t.nq; ++i) {
        float* dq_row = t.dq + i * out.dq.row_stride;
        if (any) {
          WriteRow(s.dq_acc + i * PaddedD(p.d), p.d, 1.0f, out.accumulate, dq_row);
        } else if (!out.accumulate) {
          ZeroRow(p.d, dq_row);
        }
      }
    }
  }
  if (kv.fresh) {  // key tiles no query of this task saw
    for (int64_t kt = 0; kt < k_tiles; ++kt) {
      if (s.touched[kt]) continue;
      ZeroKeyRows(kv, p.d, kt * kBlockK, std::min(p.s_k, (kt + 1) * kBlockK), 0, 0);
    }
  }
}

}  // namespace spindle::kernels::cpu::SPINDLE_CPU_ISA
