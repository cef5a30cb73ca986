// Test fixtures for the CPU attention kernels: fp32 tensors in (optionally)
// strided storage, a problem description shared with the float64 reference,
// and runners that return everything as contiguous doubles for comparison.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "kernels/attention.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/reference_attention.h"

namespace spindle::kernels::testing {

// A (b, s, h, d) fp32 tensor. Strided storage pads every axis and offsets the
// start, so a kernel that assumes contiguity reads the wrong numbers.
class Bshd {
 public:
  Bshd(int64_t b, int64_t s, int64_t h, int64_t d, bool strided);
  BshdView<float> view() {
    return {data_.data() + offset_, batch_stride_, row_stride_, head_stride_};
  }
  BshdView<const float> cview() const {
    return {data_.data() + offset_, batch_stride_, row_stride_, head_stride_};
  }
  float& at(int64_t bi, int64_t i, int64_t hh, int64_t c);
  // Contiguous doubles of the logical tensor; FromDouble is the inverse.
  std::vector<double> ToDouble() const;
  void FromDouble(const std::vector<double>& x);
  void Fill(float value);
  std::vector<float>& storage() { return data_; }

 private:
  int64_t b_, s_, h_, d_;
  int64_t batch_stride_, row_stride_, head_stride_, offset_;
  std::vector<float> data_;
};

// A (b, h, s) fp32 tensor, strided like Bshd.
class Bhs {
 public:
  Bhs(int64_t b, int64_t h, int64_t s, bool strided);
  BhsView<float> view() { return {data_.data() + offset_, batch_stride_, head_stride_}; }
  BhsView<const float> cview() const {
    return {data_.data() + offset_, batch_stride_, head_stride_};
  }
  std::vector<double> ToDouble() const;
  void FromDouble(const std::vector<double>& x);

 private:
  int64_t b_, h_, s_;
  int64_t batch_stride_, head_stride_, offset_;
  std::vector<float> data_;
};

std::vector<double> RandomNormal(int64_t n, uint64_t seed);

struct Case {
  std::string name;
  reference::Problem problem;  // scale 0 means 1/sqrt(d)
  bool strided = false;
  uint64_t seed = 1;
};

// Names the case in gtest failure messages instead of dumping its bytes.
void PrintTo(const Case& c, std::ostream* os);

// Kernel inputs for a case: randn q, k, v, d_o (fp32), and their exact doubles.
struct Inputs {
  explicit Inputs(const Case& c);
  reference::Problem problem;
  Bshd q, k, v, d_o;
  std::vector<double> q64, k64, v64, d_o64;
  AttentionProblem KernelProblem() const;
};

struct Results {
  std::vector<double> o, lse, dq, dk, dv;
};

// Forward, then backward from that forward's o and lse; accumulate = false.
// `pool` may be null.
absl::Status RunKernel(cpu::Isa isa, const Inputs& in, ThreadPool* pool, Results* out);
Results RunReference(const Inputs& in);

// max |a - b|; both -inf counts as equal; -inf against finite (or any NaN)
// is +inf.
double MaxAbsDiff(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace spindle::kernels::testing
