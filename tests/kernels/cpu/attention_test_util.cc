#include "tests/kernels/cpu/attention_test_util.h"

#include <cmath>
#include <limits>
#include <random>

#include "kernels/cpu/thread_pool.h"

namespace spindle::kernels::testing {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

}  // namespace

// Padding holds NaN: a kernel that reads it, or leaves an output unwritten,
// produces NaN and fails the comparison.
Bshd::Bshd(int64_t b, int64_t s, int64_t h, int64_t d, bool strided) : b_(b), s_(s), h_(h), d_(d) {
  head_stride_ = strided ? d + 3 : d;
  row_stride_ = strided ? (h + 1) * head_stride_ + 5 : h * d;
  batch_stride_ = strided ? s * row_stride_ + 11 : s * row_stride_;
  offset_ = strided ? 7 : 0;
  data_.assign(offset_ + b * batch_stride_ + 16, kNaN);
}

float& Bshd::at(int64_t bi, int64_t i, int64_t hh, int64_t c) {
  return data_[offset_ + bi * batch_stride_ + i * row_stride_ + hh * head_stride_ + c];
}

std::vector<double> Bshd::ToDouble() const {
  std::vector<double> x(b_ * s_ * h_ * d_);
  for (int64_t bi = 0, n = 0; bi < b_; ++bi)
    for (int64_t i = 0; i < s_; ++i)
      for (int64_t hh = 0; hh < h_; ++hh)
        for (int64_t c = 0; c < d_; ++c, ++n)
          x[n] = data_[offset_ + bi * batch_stride_ + i * row_stride_ + hh * head_stride_ + c];
  return x;
}

void Bshd::FromDouble(const std::vector<double>& x) {
  for (int64_t bi = 0, n = 0; bi < b_; ++bi)
    for (int64_t i = 0; i < s_; ++i)
      for (int64_t hh = 0; hh < h_; ++hh)
        for (int64_t c = 0; c < d_; ++c, ++n) at(bi, i, hh, c) = static_cast<float>(x[n]);
}

void Bshd::Fill(float value) {
  for (int64_t bi = 0; bi < b_; ++bi)
    for (int64_t i = 0; i < s_; ++i)
      for (int64_t hh = 0; hh < h_; ++hh)
        for (int64_t c = 0; c < d_; ++c) at(bi, i, hh, c) = value;
}

Bhs::Bhs(int64_t b, int64_t h, int64_t s, bool strided) : b_(b), h_(h), s_(s) {
  head_stride_ = strided ? s + 3 : s;
  batch_stride_ = strided ? h * head_stride_ + 5 : h * s;
  offset_ = strided ? 2 : 0;
  data_.assign(offset_ + b * batch_stride_ + 16, kNaN);
}

std::vector<double> Bhs::ToDouble() const {
  std::vector<double> x(b_ * h_ * s_);
  for (int64_t bi = 0, n = 0; bi < b_; ++bi)
    for (int64_t hh = 0; hh < h_; ++hh)
      for (int64_t i = 0; i < s_; ++i, ++n)
        x[n] = data_[offset_ + bi * batch_stride_ + hh * head_stride_ + i];
  return x;
}

void Bhs::FromDouble(const std::vector<double>& x) {
  for (int64_t bi = 0, n = 0; bi < b_; ++bi)
    for (int64_t hh = 0; hh < h_; ++hh)
      for (int64_t i = 0; i < s_; ++i, ++n)
        data_[offset_ + bi * batch_stride_ + hh * head_stride_ + i] = static_cast<float>(x[n]);
}

std::vector<double> RandomNormal(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> x(n);
  // Rounded to fp32 so that kernel and reference see the same numbers.
  for (double& v : x) v = static_cast<float>(normal(rng));
  return x;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

namespace {

reference::Problem WithScale(reference::Problem p) {
  if (p.scale == 0) p.scale = 1.0 / std::sqrt(static_cast<double>(p.d));
  return p;
}

}  // namespace

Inputs::Inputs(const Case& c)
    : problem(WithScale(c.problem)),
      q(problem.b, problem.s_q, problem.h, problem.d, c.strided),
      k(problem.b, problem.s_k, problem.h_kv, problem.d, c.strided),
      v(problem.b, problem.s_k, problem.h_kv, problem.d, c.strided),
      d_o(problem.b, problem.s_q, problem.h, problem.d, c.strided) {
  const reference::Problem& p = problem;
  q64 = RandomNormal(p.b * p.s_q * p.h * p.d, c.seed * 4 + 0);
  k64 = RandomNormal(p.b * p.s_k * p.h_kv * p.d, c.seed * 4 + 1);
  v64 = RandomNormal(p.b * p.s_k * p.h_kv * p.d, c.seed * 4 + 2);
  d_o64 = RandomNormal(p.b * p.s_q * p.h * p.d, c.seed * 4 + 3);
  q.FromDouble(q64);
  k.FromDouble(k64);
  v.FromDouble(v64);
  d_o.FromDouble(d_o64);
}

AttentionProblem Inputs::KernelProblem() const {
  const reference::Problem& r = problem;
  AttentionProblem p;
  p.q = q.cview();
  p.k = k.cview();
  p.v = v.cview();
  p.b = r.b;
  p.s_q = r.s_q;
  p.s_k = r.s_k;
  p.h = r.h;
  p.h_kv = r.h_kv;
  p.d = r.d;
  p.scale = static_cast<float>(r.scale);
  p.causal = r.causal;
  p.q_pos = r.q_pos.empty() ? nullptr : r.q_pos.data();
  p.k_pos = r.k_pos.empty() ? nullptr : r.k_pos.data();
  p.valid_len = r.valid_len;
  return p;
}

absl::Status RunKernel(cpu::Isa isa, const Inputs& in, ThreadPool* pool, Results* out) {
  const reference::Problem& r = in.problem;
  const bool strided = in.q.cview().head_stride != r.d;
  const AttentionProblem p = in.KernelProblem();
  Bshd o(r.b, r.s_q, r.h, r.d, strided);
  Bhs lse(r.b, r.h, r.s_q, strided);
  if (absl::Status s = cpu::AttentionForwardOn(isa, p, {o.view(), lse.view()}, pool); !s.ok()) {
    return s;
  }
  Bshd dq(r.b, r.s_q, r.h, r.d, strided);
  Bshd dk(r.b, r.s_k, r.h_kv, r.d, strided);
  Bshd dv(r.b, r.s_k, r.h_kv, r.d, strided);
  const AttentionBackwardIn bin{o.cview(), in.d_o.cview(), lse.cview()};
  const AttentionBackwardOut bout{dq.view(), dk.view(), dv.view(), /*accumulate=*/false};
  if (absl::Status s = cpu::AttentionBackwardOn(isa, p, bin, bout, pool); !s.ok()) return s;
  *out = {o.ToDouble(), lse.ToDouble(), dq.ToDouble(), dk.ToDouble(), dv.ToDouble()};
  return absl::OkStatus();
}

Results RunReference(const Inputs& in) {
  reference::ForwardResult f = reference::Forward(in.problem, in.q64, in.k64, in.v64);
  reference::Gradients g = reference::Backward(in.problem, in.q64, in.k64, in.v64, in.d_o64);
  return {std::move(f.o), std::move(f.lse), std::move(g.dq), std::move(g.dk), std::move(g.dv)};
}

double MaxAbsDiff(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;  // includes both -inf
    const double diff = std::abs(a[i] - b[i]);
    if (!(diff <= worst)) worst = std::isnan(diff) ? std::numeric_limits<double>::infinity() : diff;
  }
  return worst;
}

}  // namespace spindle::kernels::testing
