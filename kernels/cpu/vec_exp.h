// Vectorised 2^x for the softmax. Include only from a kernels_<isa>.cc
// translation unit after its Vec; see [ISA dispatch] in isa.h.
#pragma once

#ifndef SPINDLE_CPU_ISA
#error "include from a kernels_<isa>.cc translation unit"
#endif

namespace spindle::kernels::cpu::SPINDLE_CPU_ISA {

// 2^x within ~1 ulp for results >= 2^-126. -inf and anything below -126.5
// give exactly 0 (a masked score contributes nothing); x > 127.5 gives +inf
// (true overflow starts at 128); NaN stays NaN. x = n + f with n = round(x),
// |f| <= 1/2, and 2^f from its degree-7 Taylor series in f·ln 2 (truncation
// error < 4e-9 relative).
inline Vec::F Exp2(Vec::F x) {
  // The clamp constants come first so that a NaN x passes through (see Vec).
  x = Vec::Min(Vec::Set1(128.0f), Vec::Max(Vec::Set1(-127.0f), x));
  const Vec::I n = Vec::RoundToInt(x);
  const Vec::F f = Vec::Sub(x, Vec::IntToFloat(n));
  Vec::F p = Vec::Set1(1.5252733804059838e-05f);
  p = Vec::Fma(p, f, Vec::Set1(1.5403530393381606e-04f));
  p = Vec::Fma(p, f, Vec::Set1(1.3333558146428441e-03f));
  p = Vec::Fma(p, f, Vec::Set1(9.6181291076284772e-03f));
  p = Vec::Fma(p, f, Vec::Set1(5.5504108664821576e-02f));
  p = Vec::Fma(p, f, Vec::Set1(2.4022650695910071e-01f));
  p = Vec::Fma(p, f, Vec::Set1(6.9314718055994531e-01f));
  p = Vec::Fma(p, f, Vec::Set1(1.0f));
  return Vec::Mul(p, Vec::Pow2Int(n));
}

// y[i] = 2^x[i] for i in [0, n); exported for the accuracy tests.
inline void Exp2Array(const float* x, float* y, int64_t n) {
  constexpr int kW = Vec::kWidth;
  int64_t i = 0;
  for (; i + kW <= n; i += kW) Vec::Store(y + i, Exp2(Vec::Load(x + i)));
  if (i < n) {
    const Vec::Mask m = Vec::TailMask(static_cast<int>(n - i));
    Vec::StoreTail(y + i, Exp2(Vec::LoadTail(x + i, m)), m);
  }
}

}  // namespace spindle::kernels::cpu::SPINDLE_CPU_ISA
