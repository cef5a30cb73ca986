// The CUDA merge against the CPU merge on the same inputs, empty rows
// included. Needs a GPU: skipped (not failed) on machines without one.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/attention.h"
#include "kernels/cuda/merge.h"

namespace spindle::kernels {
namespace {

bool HaveGpuForMerge() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

template <typename T>
struct Device {
  explicit Device(const std::vector<T>& host) : n(host.size()) {
    EXPECT_EQ(cudaMalloc(&ptr, n * sizeof(T)), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(ptr, host.data(), n * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~Device() { cudaFree(ptr); }
  std::vector<T> Read() const {
    std::vector<T> host(n);
    EXPECT_EQ(cudaMemcpy(host.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }
  T* ptr = nullptr;
  size_t n;
};

TEST(MergeCudaTest, MatchesTheCpuMergeIncludingEmptyRows) {
  if (!HaveGpuForMerge()) GTEST_SKIP() << "no CUDA device";
  const int64_t b = 2, s = 37, h = 3, d = 72;
  std::mt19937 gen(7);
  std::normal_distribution<float> normal;
  auto fill = [&](size_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = normal(gen);
    return v;
  };
  std::vector<float> o = fill(b * s * h * d), o_blk = fill(b * s * h * d);
  std::vector<float> lse = fill(b * h * s), lse_blk = fill(b * h * s);
  const float inf = std::numeric_limits<float>::infinity();
  lse[0] = -inf;                                                        // running row empty
  lse_blk[1] = -inf;                                                    // block row empty
  lse[2] = lse_blk[2] = -inf;                                           // both
  lse_blk[3] = lse[3] + 1e4f;                                           // huge gap
  for (int i = 0; i < d; ++i) o[0 * h * d + i] = o[2 * h * d + i] = 0;  // masked rows are 0

  Device<float> d_o(o), d_lse(lse), d_o_blk(o_blk), d_lse_blk(lse_blk);
  auto problem = [&](float* po, float* pl, const float* pob, const float* plb) {
    MergeProblem m;
    m.o = {po, s * h * d, h * d, d};
    m.lse = {pl, h * s, s};
    m.o_blk = {pob, s * h * d, h * d, d};
    m.lse_blk = {plb, h * s, s};
    m.b = b;
    m.s = s;
    m.h = h;
    m.d = d;
    return m;
  };
  ASSERT_TRUE(
      cuda::MergeAttention(problem(d_o.ptr, d_lse.ptr, d_o_blk.ptr, d_lse_blk.ptr), nullptr).ok());
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  ASSERT_TRUE(
      MergeAttention(problem(o.data(), lse.data(), o_blk.data(), lse_blk.data()), nullptr).ok());
  const std::vector<float> gpu_o = d_o.Read(), gpu_lse = d_lse.Read();
  for (size_t i = 0; i < o.size(); ++i) ASSERT_NEAR(gpu_o[i], o[i], 1e-5f) << "o[" << i << "]";
  for (size_t i = 0; i < lse.size(); ++i) {
    if (std::isinf(lse[i])) {
      ASSERT_EQ(gpu_lse[i], lse[i]) << "lse[" << i << "]";
    } else {
      ASSERT_NEAR(gpu_lse[i], lse[i], 1e-5f * std::max(1.f, std::abs(lse[i])))
          << "lse[" << i << "]";
    }
  }
}

TEST(MergeCudaTest, RefusesAMalformedProblemWithoutTouchingTheDevice) {
  MergeProblem m;
  m.d = 0;
  auto s = cuda::MergeAttention(m, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("d >= 1"), std::string::npos) << s;
}

}  // namespace
}  // namespace spindle::kernels
