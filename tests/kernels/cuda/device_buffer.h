// Test helpers for the CUDA kernel tests: a device copy of a host vector,
// bf16/fp16 rounding on the host, and the "is there a GPU" probe that lets
// every GPU test skip (not fail) on machines without one.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace spindle::testing {

inline bool HaveGpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

#define SPINDLE_REQUIRE_GPU() \
  if (!::spindle::testing::HaveGpu()) GTEST_SKIP() << "no CUDA device"

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n) : n_(n) {
    EXPECT_EQ(cudaMalloc(&ptr_, (n_ > 0 ? n_ : 1) * sizeof(T)), cudaSuccess);
    EXPECT_EQ(cudaMemset(ptr_, 0, (n_ > 0 ? n_ : 1) * sizeof(T)), cudaSuccess);
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) {
    EXPECT_EQ(cudaMemcpy(ptr_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { cudaFree(ptr_); }

  std::vector<T> Read() const {
    std::vector<T> host(n_);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(host.data(), ptr_, n_ * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }
  T* get() const { return ptr_; }
  size_t size() const { return n_; }

 private:
  T* ptr_ = nullptr;
  size_t n_;
};

// Host conversions between fp32/fp64 and the 2-byte types.
template <typename H>
H ToHalf(double x);
template <>
inline __nv_bfloat16 ToHalf<__nv_bfloat16>(double x) {
  return __float2bfloat16(static_cast<float>(x));
}
template <>
inline __half ToHalf<__half>(double x) {
  return __float2half(static_cast<float>(x));
}
inline double FromHalf(__nv_bfloat16 x) { return __bfloat162float(x); }
inline double FromHalf(__half x) { return __half2float(x); }

}  // namespace spindle::testing
