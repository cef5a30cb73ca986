#include "worker/train/grad_reducer.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace spindle::train {
namespace {

class ReadyHook : public torch::autograd::FunctionPostHook {
 public:
  ReadyHook(GradReducer* reducer, int param) : reducer_(reducer), param_(param) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list&) override {
    reducer_->OnGradReady(param_);
    return outputs;
  }

 private:
  GradReducer* reducer_;
  int param_;
};

}  // namespace

GradSchedule GradScheduleFor(const comm::Communicator& comm) {
  return comm.StartsWithoutBlocking() ? GradSchedule::kInline : GradSchedule::kThread;
}

absl::StatusOr<std::unique_ptr<GradReducer>> GradReducer::Create(
    std::vector<at::Tensor> params, std::shared_ptr<comm::Communicator> comm, int64_t bucket_bytes,
    GradSchedule schedule) {
  if (params.empty()) return absl::InvalidArgumentError("gradient reducer: no parameters");
  for (size_t i = 0; i < params.size(); ++i) {
    const at::ScalarType type = params[i].scalar_type();
    if (!params[i].requires_grad() || !params[i].is_leaf() ||
        (type != at::kFloat && type != at::kBFloat16) || params[i].device() != params[0].device()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "parameter ", i, " must be a float32 or bfloat16 leaf that requires grad, on ",
          params[0].device().str()));
    }
  }
  std::unique_ptr<GradReducer> r(new GradReducer(std::move(params), std::move(comm), schedule));
  // Reverse order: the last layers' gradients arrive first.
  int64_t bytes = 0;
  for (int i = static_cast<int>(r->params_.size()) - 1; i >= 0; --i) {
    if (r->buckets_.empty() || bytes >= bucket_bytes) {
      r->buckets_.emplace_back();
      bytes = 0;
    }
    r->buckets_.back().params.push_back(i);
    r->bucket_of_[i] = static_cast<int>(r->buckets_.size()) - 1;
    bytes += r->params_[i].numel() * 4;  // fp32 buffers whatever the parameters' type
  }
  for (Bucket& b : r->buckets_) {
    int64_t numel = 0;
    for (int i : b.params) numel += r->params_[i].numel();
    b.buffer = at::zeros({numel}, r->params_[0].options().dtype(at::kFloat).requires_grad(false));
    int64_t offset = 0;
    for (int i : b.params) {
      at::Tensor& p = r->params_[i];
      const int64_t n = p.numel();
      r->grads_[i] = b.buffer.narrow(0, offset, n).view(p.sizes());
      if (p.scalar_type() == at::kFloat) p.mutable_grad() = r->grads_[i];
      offset += n;
    }
  }
  for (size_t i = 0; i < r->params_.size(); ++i) {
    auto acc = torch::autograd::impl::grad_accumulator(r->params_[i]);
    acc->add_post_hook(std::make_unique<ReadyHook>(r.get(), static_cast<int>(i)));
    r->accumulators_.push_back(std::move(acc));
  }
  r->ready_.assign(r->params_.size(), false);
  if (schedule == GradSchedule::kThread) {
    r->thread_ = std::thread([raw = r.get()] { raw->CommLoop(); });
  }
  return r;
}

GradReducer::GradReducer(std::vector<at::Tensor> params, std::shared_ptr<comm::Communicator> comm,
                         GradSchedule schedule)
    : params_(std::move(params)),
      grads_(params_.size()),
      bucket_of_(params_.size()),
      comm_(std::move(comm)),
      schedule_(schedule) {}

GradReducer::~GradReducer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void GradReducer::ZeroGrad() {
  for (Bucket& b : buckets_) b.buffer.zero_();
}

void GradReducer::Arm() {
  std::lock_guard<std::mutex> lock(mu_);
  armed_ = true;
  next_launch_ = 0;
  reduced_ = 0;
  ready_.assign(params_.size(), false);
  for (Bucket& b : buckets_) b.pending = static_cast<int>(b.params.size());
}

void GradReducer::OnGradReady(int param) {
  at::Tensor& p = params_[param];
  if (p.scalar_type() != at::kFloat && p.grad().defined()) {
    // Runs on the autograd thread on the stream that produced the gradient,
    // before the bucket can be handed to the communicator.
    grads_[param].add_(p.grad());
    p.mutable_grad().reset();
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!armed_) return;
  // A parameter accumulating twice in one backward (used by two separately
  // checkpointed segments) would need its bucket held back; this model never
  // does it.
  SPINDLE_CHECK(!ready_[param]) << "parameter " << param
                                << " got two gradients in one backward after its bucket "
                                   "was scheduled for reduction";
  ready_[param] = true;
  --buckets_[bucket_of_[param]].pending;
  LaunchReadyLocked();
}

void GradReducer::LaunchReadyLocked() {
  const int before = next_launch_;
  for (; next_launch_ < num_buckets() && buckets_[next_launch_].pending == 0; ++next_launch_) {
    if (schedule_ != GradSchedule::kInline) continue;
    Bucket& b = buckets_[next_launch_];
    auto started = comm_->StartAllReduce(b.buffer.data_ptr(), b.buffer.numel(),
                                         comm::DType::kFloat32, comm::ReduceOp::kSum);
    if (started.ok()) {
      in_flight_.push_back(std::move(*started));
    } else if (error_.ok()) {
      error_ = started.status();
    }
  }
  if (schedule_ == GradSchedule::kThread && next_launch_ != before) work_cv_.notify_all();
}

absl::Status GradReducer::Finish() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!armed_) return absl::FailedPreconditionError("GradReducer::Finish without Arm");
  for (Bucket& b : buckets_) b.pending = 0;  // parameters without a gradient keep zeros
  LaunchReadyLocked();
  if (schedule_ == GradSchedule::kInline) {
    for (std::unique_ptr<comm::PendingBatch>& batch : in_flight_) {
      absl::Status s = batch->Wait();
      if (!s.ok() && error_.ok()) error_ = s;
    }
    in_flight_.clear();
    reduced_ = num_buckets();
  } else {
    done_cv_.wait(lock, [this] { return reduced_ == num_buckets(); });
  }
  armed_ = false;
  return error_;
}

void GradReducer::CommLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [this] { return stop_ || reduced_ < next_launch_; });
    if (stop_) return;
    Bucket& b = buckets_[reduced_];
    lock.unlock();
    absl::Status s = comm_->AllReduce(b.buffer.data_ptr(), b.buffer.numel(), comm::DType::kFloat32,
                                      comm::ReduceOp::kSum);
    lock.lock();
    if (!s.ok() && error_.ok()) error_ = s;
    ++reduced_;
    done_cv_.notify_all();
  }
}

}  // namespace spindle::train
