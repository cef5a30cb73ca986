// Runs sequence-parallel attention on seeded inputs and checks it against
// one-device attention computed in float64 by libtorch autograd: the output
// and dq, dk, dv on every real token, and the bytes and calls each rank's
// communicators counted against the closed forms of common/layout/comm_volume.h.
//
// It is the main job before the service exists (`spindle-sp-demo`), and the
// workhorse of the multi-rank tests (in-process ranks and real processes).
// Padding rows are filled with large garbage on purpose: masking must make
// them irrelevant.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/layout/comm_volume.h"
#include "common/layout/sequence_layout.h"
#include "worker/sp/process_groups.h"

namespace spindle::kernels {
class ThreadPool;
}

namespace spindle::sp {

// Where the ranks compute and in what type. CPU fp32 is compared by max
// absolute error; CUDA bf16/fp16 (ranks are virtual: threads sharing one GPU,
// or one rank per GPU) by relative L2 error, against a reference computed
// from the same rounded inputs.
enum class CheckPrecision { kCpuFloat32, kCudaBFloat16, kCudaFloat16 };
const char* PrecisionName(CheckPrecision p);  // "cpu-fp32", "cuda-bf16", "cuda-fp16"

struct SelfCheckConfig {
  int ulysses = 1;
  int ring = 1;
  layout::LayoutKind layout = layout::LayoutKind::kZigzag;
  layout::RingSchedule schedule = layout::RingSchedule::kRing;
  int64_t batch = 1;
  int64_t seq_len = 256;  // S, real tokens (padded as the layout needs)
  int heads = 4;
  int kv_heads = 4;
  int head_dim = 32;
  bool causal = true;
  uint64_t seed = 1;
  int timed_iterations = 0;  // forward+backward runs timed after the checked one
  CheckPrecision precision = CheckPrecision::kCpuFloat32;
};

// e.g. "usp U=2 R=2 zigzag causal b=1 S=1000 h=8 h_kv=2 d=64"
std::string Describe(const SelfCheckConfig& c);
// "ulysses", "ring", "usp" or "local" from the degrees, "+lightseq" when used.
std::string AlgorithmName(const SelfCheckConfig& c);

// Global float64 inputs and one-device results, (b, S, heads, d).
struct Reference {
  at::Tensor q, k, v, d_o;  // inputs and the upstream gradient
  at::Tensor o, dq, dk, dv;
};
Reference ComputeReference(const SelfCheckConfig& c);

struct SelfCheckResult {
  // Over every rank's real tokens against float64: max abs error (CPU fp32),
  // or the largest rank's relative L2 error ||x - ref|| / ||ref|| (CUDA).
  double err_o = 0, err_dq = 0, err_dk = 0, err_dv = 0;
  bool finite = true;  // no NaN/inf anywhere, padding rows included
  // Max over ranks and over (forward, backward) × (bytes sent, bytes received,
  // calls, messages) of |counted − formula|; 0 means exact.
  int64_t traffic_diff = 0;
  layout::AttentionTraffic expected;  // this rank's, from the formulas
  int64_t bytes_sent_forward = 0;     // this rank's counted bytes, all groups
  int64_t bytes_sent_backward = 0;
  double forward_seconds = 0;  // median over timed iterations, max over ranks
  double backward_seconds = 0;
  double max_error() const;
};

// What a launcher needs of a result, as one line of text (rank 0 writes it,
// the launcher or a test reads it).
struct SelfCheckSummary {
  double err_o = 0, err_dq = 0, err_dk = 0, err_dv = 0;
  bool finite = false;
  int64_t traffic_diff = -1;
  int64_t bytes_sent = 0;     // this rank, forward + backward
  int64_t formula_bytes = 0;  // the formula's figure for the same
  double forward_seconds = 0, backward_seconds = 0;

  static SelfCheckSummary Of(const SelfCheckResult& r);
  std::string ToLine() const;
  static absl::StatusOr<SelfCheckSummary> FromLine(const std::string& line);
  // Errors within tolerance, everything finite, traffic exactly the formula.
  bool Passes(double tolerance) const;
};

// Collective over groups.world: every rank of the mesh must call it.
absl::StatusOr<SelfCheckResult> RunSelfCheck(const SelfCheckConfig& c, const Reference& ref,
                                             const ProcessGroups& groups,
                                             std::shared_ptr<kernels::ThreadPool> pool);

}  // namespace spindle::sp
