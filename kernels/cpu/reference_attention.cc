#include "kernels/cpu/reference_attention.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace spindle::kernels::reference {
namespace {

void CheckSize(const char* name, const std::vector<double>& x, int64_t want) {
  if (static_cast<int64_t>(x.size()) == want) return;
  std::fprintf(stderr, "reference attention: %s has %zu elements, the problem needs %lld\n", name,
               x.size(), static_cast<long long>(want));
  std::abort();
}

int64_t QPos(const Problem& p, int64_t i) { return p.q_pos.empty() ? i : p.q_pos[i]; }
int64_t KPos(const Problem& p, int64_t j) { return p.k_pos.empty() ? j : p.k_pos[j]; }

// Offsets of row (bi, i, head) in a contiguous (b, s, heads, d) tensor.
int64_t At(int64_t bi, int64_t i, int64_t head, int64_t s, int64_t heads, int64_t d) {
  return ((bi * s + i) * heads + head) * d;
}

double Dot(const double* a, const double* b, int64_t d) {
  double sum = 0;
  for (int64_t c = 0; c < d; ++c) sum += a[c] * b[c];
  return sum;
}

void CheckInputs(const Problem& p, const std::vector<double>& q, const std::vector<double>& k,
                 const std::vector<double>& v) {
  if (p.h_kv <= 0 || p.h % p.h_kv != 0 ||
      (!p.q_pos.empty() && static_cast<int64_t>(p.q_pos.size()) != p.s_q) ||
      (!p.k_pos.empty() && static_cast<int64_t>(p.k_pos.size()) != p.s_k)) {
    std::fprintf(stderr, "reference attention: inconsistent problem (h, h_kv or positions)\n");
    std::abort();
  }
  CheckSize("q", q, p.b * p.s_q * p.h * p.d);
  CheckSize("k", k, p.b * p.s_k * p.h_kv * p.d);
  CheckSize("v", v, p.b * p.s_k * p.h_kv * p.d);
}

// Softmax of query row (bi, hq, i) over the visible keys: prob[j] (0 where
// masked). Returns false for a masked row (no visible key).
bool RowSoftmax(const Problem& p, const std::vector<double>& q, const std::vector<double>& k,
                int64_t bi, int64_t hq, int64_t i, std::vector<double>& prob, double* lse) {
  const int64_t g = hq / (p.h / p.h_kv);
  const double* qi = &q[At(bi, i, hq, p.s_q, p.h, p.d)];
  double max = -INFINITY;
  for (int64_t j = 0; j < p.s_k; ++j) {
    prob[j] = -INFINITY;
    if (!Visible(p, i, j)) continue;
    prob[j] = p.scale * Dot(qi, &k[At(bi, j, g, p.s_k, p.h_kv, p.d)], p.d);
    max = std::max(max, prob[j]);
  }
  if (max == -INFINITY) {
    for (double& x : prob) x = 0;
    *lse = -INFINITY;
    return false;
  }
  double sum = 0;
  for (int64_t j = 0; j < p.s_k; ++j) sum += std::exp(prob[j] - max);
  *lse = max + std::log(sum);
  for (int64_t j = 0; j < p.s_k; ++j) prob[j] = std::exp(prob[j] - *lse);
  return true;
}

}  // namespace

bool Visible(const Problem& p, int64_t i, int64_t j) {
  const int64_t qp = QPos(p, i), kp = KPos(p, j);
  return qp < p.valid_len && kp < p.valid_len && (!p.causal || kp <= qp);
}

ForwardResult Forward(const Problem& p, const std::vector<double>& q, const std::vector<double>& k,
                      const std::vector<double>& v) {
  CheckInputs(p, q, k, v);
  ForwardResult r;
  r.o.assign(p.b * p.s_q * p.h * p.d, 0.0);
  r.lse.assign(p.b * p.h * p.s_q, -INFINITY);
  std::vector<double> prob(p.s_k);
  for (int64_t bi = 0; bi < p.b; ++bi) {
    for (int64_t hq = 0; hq < p.h; ++hq) {
      const int64_t g = hq / (p.h / p.h_kv);
      for (int64_t i = 0; i < p.s_q; ++i) {
        double lse;
        if (!RowSoftmax(p, q, k, bi, hq, i, prob, &lse)) continue;
        r.lse[(bi * p.h + hq) * p.s_q + i] = lse;
        double* oi = &r.o[At(bi, i, hq, p.s_q, p.h, p.d)];
        for (int64_t j = 0; j < p.s_k; ++j) {
          const double* vj = &v[At(bi, j, g, p.s_k, p.h_kv, p.d)];
          for (int64_t c = 0; c < p.d; ++c) oi[c] += prob[j] * vj[c];
        }
      }
    }
  }
  return r;
}

Gradients Backward(const Problem& p, const std::vector<double>& q, const std::vector<double>& k,
                   const std::vector<double>& v, const std::vector<double>& d_o) {
  CheckInputs(p, q, k, v);
  CheckSize("d_o", d_o, p.b * p.s_q * p.h * p.d);
  Gradients r;
  r.dq.assign(q.size(), 0.0);
  r.dk.assign(k.size(), 0.0);
  r.dv.assign(v.size(), 0.0);
  std::vector<double> prob(p.s_k), dprob(p.s_k);
  for (int64_t bi = 0; bi < p.b; ++bi) {
    for (int64_t hq = 0; hq < p.h; ++hq) {
      const int64_t g = hq / (p.h / p.h_kv);
      for (int64_t i = 0; i < p.s_q; ++i) {
        double lse;
        if (!RowSoftmax(p, q, k, bi, hq, i, prob, &lse)) continue;
        const int64_t qi = At(bi, i, hq, p.s_q, p.h, p.d);
        // o_i = Σ_j p_j v_j: dv_j += p_j·dO_i and dp_j = dO_i·v_j.
        double weighted = 0;  // Σ_l p_l·dp_l, from the Jacobian of softmax
        for (int64_t j = 0; j < p.s_k; ++j) {
          const int64_t kj = At(bi, j, g, p.s_k, p.h_kv, p.d);
          dprob[j] = Dot(&d_o[qi], &v[kj], p.d);
          for (int64_t c = 0; c < p.d; ++c) r.dv[kj + c] += prob[j] * d_o[qi + c];
          weighted += prob[j] * dprob[j];
        }
        // p = softmax(s): ds_j = Σ_l p_l (δ_lj - p_j) dp_l; s_j = scale·q_i·k_j.
        for (int64_t j = 0; j < p.s_k; ++j) {
          const double ds = prob[j] * (dprob[j] - weighted);
          if (ds == 0) continue;
          const int64_t kj = At(bi, j, g, p.s_k, p.h_kv, p.d);
          for (int64_t c = 0; c < p.d; ++c) {
            r.dq[qi + c] += p.scale * ds * k[kj + c];
            r.dk[kj + c] += p.scale * ds * q[qi + c];
          }
        }
      }
    }
  }
  return r;
}

}  // namespace spindle::kernels::reference
