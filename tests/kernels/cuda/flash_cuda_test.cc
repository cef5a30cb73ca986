// The tensor-core attention kernels against the float64 reference, outputs
// and gradients: bf16 and fp16, head dims 64 and 128, full and causal, GQA,
// ragged lengths, zigzag positions with padding, fully masked rows, and
// gradient accumulation. Inputs are rounded to the 2-byte type first, so the
// reference sees exactly what the kernel sees; the tolerance (relative L2
// error ≤ 1e-2) covers the kernel's rounding of P and dS to that type.
// Skipped without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/reference_attention.h"
#include "kernels/cuda/attention_cuda.h"
#include "tests/kernels/cuda/device_buffer.h"

namespace spindle::kernels::cuda {
namespace {

using testing::DeviceBuffer;
using testing::FromHalf;
using testing::ToHalf;

double RelL2(const std::vector<double>& got, const std::vector<double>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

struct Case {
  bool bf16 = true;
  int64_t d = 64;
  bool causal = false;
  int64_t b = 2, s_q = 200, s_k = 200, h = 4, h_kv = 2;
  bool zigzag_positions = false;  // q and k hold chunks 1 and 2R-2 of a longer sequence
  int64_t valid_len = kNoPadding;

  std::string Name() const {
    return std::string(bf16 ? "bf16" : "fp16") + "_d" + std::to_string(d) +
           (causal ? "_causal" : "_full") + (zigzag_positions ? "_zigzag" : "") +
           (valid_len != kNoPadding ? "_padded" : "") + "_h" + std::to_string(h) + "kv" +
           std::to_string(h_kv) + "_s" + std::to_string(s_q) + "x" + std::to_string(s_k);
  }
};

template <typename H>
void RunCase(const Case& c) {
  reference::Problem rp;
  rp.b = c.b;
  rp.s_q = c.s_q;
  rp.s_k = c.s_k;
  rp.h = c.h;
  rp.h_kv = c.h_kv;
  rp.d = c.d;
  rp.scale = 1.0 / std::sqrt(static_cast<double>(c.d));
  rp.causal = c.causal;
  rp.valid_len = c.valid_len;
  if (c.zigzag_positions) {
    // Two chunks far apart, as a zigzag rank holds them: [100, 100+s/2) and [900, ...).
    for (int64_t i = 0; i < c.s_q; ++i) rp.q_pos.push_back(i < c.s_q / 2 ? 100 + i : 800 + i);
    for (int64_t j = 0; j < c.s_k; ++j) rp.k_pos.push_back(j < c.s_k / 2 ? 60 + j : 850 + j);
  }

  std::mt19937 gen(11);
  std::normal_distribution<double> normal;
  auto make = [&](int64_t n, std::vector<H>& half) {
    std::vector<double> rounded(n);
    half.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      half[i] = ToHalf<H>(normal(gen));
      rounded[i] = FromHalf(half[i]);
    }
    return rounded;
  };
  std::vector<H> hq, hk, hv, hdo;
  const std::vector<double> q = make(c.b * c.s_q * c.h * c.d, hq);
  const std::vector<double> k = make(c.b * c.s_k * c.h_kv * c.d, hk);
  const std::vector<double> v = make(c.b * c.s_k * c.h_kv * c.d, hv);
  const std::vector<double> d_o = make(c.b * c.s_q * c.h * c.d, hdo);
  const reference::ForwardResult ref = reference::Forward(rp, q, k, v);
  const reference::Gradients grads = reference::Backward(rp, q, k, v, d_o);

  DeviceBuffer<H> dq_in(hq), dk_in(hk), dv_in(hv), ddo(hdo), dout(q.size());
  DeviceBuffer<float> dlse(c.b * c.h * c.s_q);
  DeviceBuffer<int64_t> qpos(rp.q_pos), kpos(rp.k_pos);
  CudaAttentionProblem p;
  p.type = c.bf16 ? ElemType::kBFloat16 : ElemType::kFloat16;
  p.q = {dq_in.get(), c.s_q * c.h * c.d, c.h * c.d, c.d};
  p.k = {dk_in.get(), c.s_k * c.h_kv * c.d, c.h_kv * c.d, c.d};
  p.v = {dv_in.get(), c.s_k * c.h_kv * c.d, c.h_kv * c.d, c.d};
  p.b = c.b;
  p.s_q = c.s_q;
  p.s_k = c.s_k;
  p.h = c.h;
  p.h_kv = c.h_kv;
  p.d = c.d;
  p.scale = static_cast<float>(rp.scale);
  p.causal = c.causal;
  p.valid_len = c.valid_len;
  if (c.zigzag_positions) {
    p.q_pos = qpos.get();
    p.k_pos = kpos.get();
  }
  CudaForwardOut fo{{dout.get(), c.s_q * c.h * c.d, c.h * c.d, c.d}, {dlse.get(), c.h * c.s_q, c.s_q}};
  ASSERT_TRUE(AttentionForward(p, fo, nullptr).ok());

  std::vector<double> o;
  for (const H& x : dout.Read()) o.push_back(FromHalf(x));
  EXPECT_LE(RelL2(o, ref.o), 1e-2) << "o";
  const std::vector<float> lse = dlse.Read();
  int masked = 0;
  for (size_t i = 0; i < lse.size(); ++i) {
    if (std::isinf(ref.lse[i])) {
      ++masked;
      ASSERT_EQ(lse[i], -std::numeric_limits<float>::infinity()) << "masked row lse[" << i << "]";
    } else {
      ASSERT_NEAR(lse[i], ref.lse[i], 1e-2) << "lse[" << i << "]";
    }
  }
  if (c.valid_len != kNoPadding) {
    EXPECT_GT(masked, 0) << "the case should have masked rows";
  }

  // Backward from the kernel's own o and lse (the global results here), twice:
  // the second call accumulates, so the gradients must come out doubled.
  DeviceBuffer<float> gq(q.size()), gk(k.size()), gv(v.size());
  DeviceBuffer<char> ws(BackwardWorkspaceBytes(p));
  CudaBackwardIn in{{dout.get(), c.s_q * c.h * c.d, c.h * c.d, c.d},
                    {ddo.get(), c.s_q * c.h * c.d, c.h * c.d, c.d},
                    {dlse.get(), c.h * c.s_q, c.s_q}};
  CudaBackwardOut out;
  out.dq = {gq.get(), c.s_q * c.h * c.d, c.h * c.d, c.d};
  out.dk = {gk.get(), c.s_k * c.h_kv * c.d, c.h_kv * c.d, c.d};
  out.dv = {gv.get(), c.s_k * c.h_kv * c.d, c.h_kv * c.d, c.d};
  for (bool accumulate : {false, true}) {
    out.accumulate = accumulate;
    ASSERT_TRUE(AttentionBackward(p, in, out, ws.get(), nullptr).ok());
    const double factor = accumulate ? 2.0 : 1.0;
    auto check = [&](const DeviceBuffer<float>& got, const std::vector<double>& want,
                     const char* name) {
      std::vector<double> g, w;
      for (float x : got.Read()) g.push_back(x);
      for (double x : want) w.push_back(x * factor);
      EXPECT_LE(RelL2(g, w), 1e-2) << name << (accumulate ? " (accumulated)" : "");
    };
    check(gq, grads.dq, "dq");
    check(gk, grads.dk, "dk");
    check(gv, grads.dv, "dv");
  }
}

class FlashCudaTest : public ::testing::TestWithParam<Case> {};

TEST_P(FlashCudaTest, MatchesTheFloat64Reference) {
  SPINDLE_REQUIRE_GPU();
  if (GetParam().bf16) {
    RunCase<__nv_bfloat16>(GetParam());
  } else {
    RunCase<__half>(GetParam());
  }
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (bool bf16 : {true, false}) {
    for (int64_t d : {64, 128}) {
      for (bool causal : {false, true}) {
        Case c;
        c.bf16 = bf16;
        c.d = d;
        c.causal = causal;
        cases.push_back(c);
      }
    }
  }
  Case mqa;  // MQA, unequal lengths, s_k below one tile
  mqa.h = 8;
  mqa.h_kv = 1;
  mqa.s_q = 130;
  mqa.s_k = 40;
  mqa.causal = true;
  cases.push_back(mqa);
  Case zig;  // zigzag positions, causal, padding past 900: some rows see nothing
  zig.zigzag_positions = true;
  zig.causal = true;
  zig.valid_len = 900;
  zig.d = 128;
  cases.push_back(zig);
  Case big;  // many tiles, both skipping and partial tiles
  big.b = 1;
  big.s_q = big.s_k = 1000;
  big.causal = true;
  big.d = 128;
  big.h = 2;
  big.h_kv = 2;
  cases.push_back(big);
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Cases, FlashCudaTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.Name(); });

TEST(FlashCudaValidationTest, NamesTheFieldWithoutTouchingTheDevice) {
  CudaAttentionProblem p;
  p.b = p.h = p.h_kv = 1;
  p.s_q = p.s_k = 8;
  p.d = 96;
  p.scale = 0.1f;
  auto s = AttentionForward(p, {}, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("d=96"), std::string::npos) << s;
  p.d = 64;
  p.h = 3;
  p.h_kv = 2;
  s = AttentionForward(p, {}, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("h_kv=2 must divide h=3"), std::string::npos) << s;
  p.h = 2;
  static const int64_t kMisaligned[8] = {};
  p.q = {reinterpret_cast<const char*>(kMisaligned) + 2, 64, 64, 64};
  s = AttentionForward(p, {}, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("q must be 16-byte aligned"), std::string::npos) << s;
}

// Outputs whose elements share memory would race between threads; refused
// before launch, naming the view and stride.
TEST(FlashCudaValidationTest, RefusesOverlappingOutputsWithoutTouchingTheDevice) {
  alignas(16) static uint16_t in[64 * 8];
  alignas(16) static float out[64 * 8 * 2];
  CudaAttentionProblem p;
  p.b = 1;
  p.h = 2;
  p.h_kv = 1;
  p.s_q = p.s_k = 4;
  p.d = 64;
  p.scale = 0.125f;
  p.q = {in, 0, 128, 64};
  p.k = p.v = {in, 0, 64, 64};
  // Rows 64 elements apart but two heads of 64 each: row i's head 1 is row i+1's head 0.
  const CudaForwardOut fwd{{out, 0, 64, 64}, {out, 0, 4}};
  auto s = AttentionForward(p, fwd, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cuda attention: o."), std::string::npos) << s;
  EXPECT_NE(s.message().find("makes output elements overlap"), std::string::npos) << s;
  const CudaBackwardIn bin{{in, 0, 128, 64}, {in, 0, 128, 64}, {out, 0, 4}};
  const CudaBackwardOut bout{{out, 0, 128, 64}, {out, 0, 0, 64}, {out, 0, 64, 64}, false};
  s = AttentionBackward(p, bin, bout, out, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("dk.row_stride: 0 makes output elements overlap"), std::string::npos)
      << s;
}

}  // namespace
}  // namespace spindle::kernels::cuda
