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
//     bucket and every bucket before it are ready, its all-reduce starts
//     while backward goes on (GradSchedule says from which thread).
// Buckets are reduced strictly in bucket order, so every rank issues the same
// collectives in the same order whatever order hooks fire in.
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

// Who issues the bucket all-reduces.
enum class GradSchedule {
  // A background thread runs each blocking AllReduce while backward goes on
  // (Gloo and the in-process backend: the host waits for the bytes, which
  // must not stall the backward).
  kThread,
  // The thread running backward (the trainer keeps it the caller's:
  // worker/runtime/backward_thread.h) starts each one (StartAllReduce) as its
  // bucket becomes ready, and Finish waits. For NCCL: its calls must not come
  // from two threads at once, and every rank must queue the operations of all
  // its groups (the attention's too) in one order, which backward's fixed
  // order gives; the device overlaps the transfer with the rest of backward.
  kInline,
};
// kInline where the communicator starts an all-reduce without blocking.
GradSchedule GradScheduleFor(const comm::Communicator& comm);

class GradReducer {
 public:
  // params: leaf tensors requiring grad, in registration order, fp32 or bf16
  // and on one device.
  static absl::StatusOr<std::unique_ptr<GradReducer>> Create(
      std::vector<at::Tensor> params, std::shared_ptr<comm::Communicator> comm,
      int64_t bucket_bytes, GradSchedule schedule);
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
  GradReducer(std::vector<at::Tensor> params, std::shared_ptr<comm::Communicator> comm,
              GradSchedule schedule);
  void LaunchReadyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CommLoop();

  std::vector<at::Tensor> params_;
  std::vector<at::Tensor> grads_;  // fp32 views into the buckets
  std::vector<int> bucket_of_;     // param -> bucket
  std::vector<Bucket> buckets_;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;  // keeps the hooks alive
  std::shared_ptr<comm::Communicator> comm_;
  const GradSchedule schedule_;

  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<bool> ready_ ABSL_GUARDED_BY(mu_);
  int next_launch_ ABSL_GUARDED_BY(mu_) = 0;  // buckets [0, next_launch_) queued
  int reduced_ ABSL_GUARDED_BY(mu_) = 0;      // buckets [0, reduced_) done
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  // kInline: the all-reduces started, in bucket order.
  std::vector<std::unique_ptr<comm::PendingBatch>> in_flight_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // kThread only
};

}  // namespace spindle::train
