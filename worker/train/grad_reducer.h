// Gradient all-reduce over the data- and sequence-parallel ranks (sum; the
// loss is already normalised by the global token count), bucketed and
// started during backward:
//   - parameters are grouped, in reverse order (roughly the order backward
//     produces their gradients), into buckets of about bucket_bytes;
//   - the buckets are fp32 on the parameters' device. An fp32 parameter's
//     .grad is a view into its bucket, so gradient accumulation over
//     micro-steps happens in place; a 16-bit parameter's (bf16 compute
//     copy) .grad is added into its fp32 view as each backward lands it and
//     then released, so accumulation and the reduction are fp32 either way;
//   - a post-hook on each parameter's AccumulateGrad marks it ready; once a
//     bucket and every bucket before it are ready, a background thread
//     all-reduces it while backward goes on.
// Buckets are reduced strictly in bucket order, so every rank issues the same
// collectives in the same order whatever order hooks fire in.
//
// The communicator is used only from the reducer's thread.
#pragma once

#include <ATen/core/Tensor.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/comm/communicator.h"

namespace torch::autograd {
struct Node;
}

namespace spindle::train {

class GradReducer {
 public:
  // params: leaf tensors requiring grad, in registration order, fp32 or bf16
  // and on one device.
  static absl::StatusOr<std::unique_ptr<GradReducer>> Create(
      std::vector<at::Tensor> params, std::shared_ptr<comm::Communicator> comm,
      int64_t bucket_bytes);
  ~GradReducer();

  // Zeroes every gradient (the buffers stay).
  void ZeroGrad();
  // Parameter i's fp32 gradient (a view into its bucket): summed over this
  // step's micro-steps, and over ranks once Finish has returned.
  const at::Tensor& grad(int i) const { return grads_[i]; }
  // The next backward is the last of this step: reduce as gradients land.
  void Arm();
  // Waits until every bucket is reduced (launching those whose parameters got
  // no gradient); returns the first communicator error. Disarms.
  absl::Status Finish();

  int num_buckets() const { return static_cast<int>(buckets_.size()); }
  void OnGradReady(int param);  // called by the hooks, armed or not

 private:
  struct Bucket {
    at::Tensor buffer;  // flat fp32
    std::vector<int> params;
    int pending = 0;  // guarded by mu_
  };
  GradReducer(std::vector<at::Tensor> params, std::shared_ptr<comm::Communicator> comm);
  void LaunchReadyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CommLoop();

  std::vector<at::Tensor> params_;
  std::vector<at::Tensor> grads_;  // fp32 views into the buckets
  std::vector<int> bucket_of_;     // param -> bucket
  std::vector<Bucket> buckets_;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;  // keeps the hooks alive
  std::shared_ptr<comm::Communicator> comm_;

  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<bool> ready_ ABSL_GUARDED_BY(mu_);
  int next_launch_ ABSL_GUARDED_BY(mu_) = 0;  // buckets [0, next_launch_) queued
  int reduced_ ABSL_GUARDED_BY(mu_) = 0;      // buckets [0, reduced_) done
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace spindle::train
