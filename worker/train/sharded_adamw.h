// AdamW with its state sharded over all ranks (ZeRO stage 1, Megatron's
// "distributed optimizer"). The parameters, flattened and concatenated in
// registration order (N elements), are cut into W contiguous chunks of
// C = ceil(N/W); rank r keeps moments for chunk r only and updates only those
// elements, then an all-gather over the world gives every rank the whole
// updated parameters. Gradients are all-reduced before the update, so every
// rank would compute the same values anyway: the result equals unsharded
// AdamW element for element, while the moments per rank shrink from 2·N to
// 2·C elements. The gather runs in rounds of at most `gather_bucket_bytes`
// per rank, so its staging memory is (W + 1)·bucket, not N.
//
// Mixed precision (bf16 parameters): each rank also keeps the fp32 master
// weights of its chunk (adamw.h), so the state per rank is 3·C fp32 elements
// and the all-gather moves the bf16 compute copy (2 bytes per element).
//
// Checkpoints hold whole moments and whole fp32 weights by parameter name
// (Gather*/Load* convert), so one resumes on any world size, sharded or not,
// and a bf16 run resumes from its masters, not from rounded weights.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/comm/communicator.h"
#include "worker/model/tensor_file.h"
#include "worker/train/adamw.h"

namespace spindle::train {

// A run of one parameter's flattened elements inside a flat range.
struct FlatRun {
  int param = 0;
  int64_t offset = 0;  // in the parameter's flattened elements
  int64_t length = 0;
};

// The runs covering flat elements [begin, end) of parameters with these
// element counts, concatenated in order; parameters without elements in the
// range are skipped. Pure.
std::vector<FlatRun> RunsInRange(absl::Span<const int64_t> numels, int64_t begin, int64_t end);

// C = ceil(total / world): elements per rank's chunk (the last may own fewer).
int64_t ShardChunk(int64_t total, int world);

class ShardedAdamW {
 public:
  // params: every parameter in registration order, the same on every rank,
  // one floating type (bf16/fp16 get fp32 masters, adamw.h). comm: the all-ranks group, used from
  // the caller's thread only; nullptr or a group of one keeps all of the state on this rank. grads:
  // each parameter's fp32 gradient (the reducer's), or empty to read .grad() at each step.
  static absl::StatusOr<std::unique_ptr<ShardedAdamW>> Create(
      std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions options,
      std::shared_ptr<comm::Communicator> comm, int64_t gather_bucket_bytes,
      std::vector<at::Tensor> grads = {});

  // Updates this rank's chunk from the (all-reduced) gradients, then gathers
  // every chunk. Errors: the all-gather failed or timed out.
  absl::Status Step(double lr);

  int64_t steps() const { return adamw_->steps(); }
  void set_steps(int64_t steps) { adamw_->set_steps(steps); }
  bool sharded() const { return comm_ != nullptr; }
  // Elements of each moment this rank holds (C when sharded, else N).
  int64_t local_state_elements() const { return owned_end_ - owned_begin_; }

  // Whole moments named "exp_avg.<param>" and "exp_avg_sq.<param>", shaped
  // like the parameters. Collective when sharded: every rank calls it.
  absl::StatusOr<model::NamedTensors> GatherMoments();
  // Keeps this rank's share of whole moments (a checkpoint's, read from
  // `label`); errors name the missing or misshapen tensor.
  absl::Status LoadMoments(const std::string& label,
                           const std::map<std::string, at::Tensor>& whole);
  // Whole full-precision weights by parameter name: the masters of 16-bit
  // parameters (collective when sharded: every rank calls it), else the
  // parameters themselves.
  absl::StatusOr<model::NamedTensors> GatherWeights();
  // Sets the parameters (rounded to their type) and this rank's masters from
  // whole weights (a checkpoint's, read from `label`).
  absl::Status LoadWeights(const std::string& label,
                           const std::map<std::string, at::Tensor>& whole);
  // Re-reads the masters from the parameters after they were overwritten
  // (an import of weights); a no-op without masters.
  void SyncMasters();

 private:
  ShardedAdamW() = default;
  // Flat [begin, end) of the parameters to or from buffer (1-D, end - begin).
  void CopyOut(int64_t begin, int64_t end, at::Tensor buffer) const;
  void CopyIn(int64_t begin, int64_t end, const at::Tensor& buffer);
  absl::Status GatherParameters();
  // Whole flat values (N, StateType) of per-slice parts of this rank's range.
  absl::StatusOr<at::Tensor> GatherFlat(const std::vector<at::Tensor>& parts);
  // Whole-shaped StateType tensors named prefix + parameter, filled from `whole`.
  absl::StatusOr<model::NamedTensors> Staged(const std::string& label,
                                             const std::map<std::string, at::Tensor>& whole,
                                             const std::vector<std::string>& prefixes) const;
  model::NamedTensors Unflatten(const std::string& prefix, const at::Tensor& flat) const;
  at::ScalarType state_type() const { return StateType(params_.front().second.scalar_type()); }
  bool mixed() const { return state_type() != params_.front().second.scalar_type(); }

  std::vector<std::pair<std::string, at::Tensor>> params_;
  std::vector<int64_t> numels_;
  std::shared_ptr<comm::Communicator> comm_;  // null: not sharded
  int64_t total_ = 0, chunk_ = 0;             // N, C
  int64_t owned_begin_ = 0, owned_end_ = 0;   // this rank's flat range
  int64_t bucket_elements_ = 0;
  std::unique_ptr<AdamW> adamw_;
  std::vector<int> slice_param_;  // adamw_'s slice i -> index into params_
};

}  // namespace spindle::train
