#include "worker/sp/self_check.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"
#include "worker/runtime/backward_thread.h"
#include "worker/sp/sp_attention.h"

namespace spindle::sp {
namespace {

using Clock = std::chrono::steady_clock;

// Garbage written into padding rows: masking must make it irrelevant.
constexpr double kPaddingGarbage = 1e3;

at::Tensor Randn(at::IntArrayRef sizes, at::Generator& gen) {
  return at::randn(sizes, gen, at::TensorOptions().dtype(at::kDouble));
}

bool IsCuda(CheckPrecision p) { return p != CheckPrecision::kCpuFloat32; }

at::TensorOptions RankOptions(CheckPrecision p) {
  switch (p) {
    case CheckPrecision::kCudaBFloat16:
      return at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
    case CheckPrecision::kCudaFloat16:
      return at::TensorOptions().device(at::kCUDA).dtype(at::kHalf);
    case CheckPrecision::kCpuFloat32:
      break;
  }
  return at::TensorOptions().dtype(at::kFloat);
}

// Waits for queued device work, so wall-clock intervals cover it.
void Sync(CheckPrecision p) {
  if (IsCuda(p)) torch::cuda::synchronize();
}

// This rank's shard of a global (b, S, n, d) tensor in the rank's device and
// type, padding rows filled with garbage.
at::Tensor Shard(const at::Tensor& global, const std::vector<int64_t>& positions, int64_t seq_len,
                 at::Generator& gen, const at::TensorOptions& options) {
  const int64_t pad = *std::max_element(positions.begin(), positions.end()) + 1 - seq_len;
  at::Tensor padded = global;
  if (pad > 0) {
    at::Tensor garbage = Randn({global.size(0), pad, global.size(2), global.size(3)}, gen);
    padded = at::cat({global, garbage * kPaddingGarbage}, 1);
  }
  const at::Tensor index = at::tensor(positions, at::kLong);
  return padded.index_select(1, index).to(options).contiguous();
}

struct RealRows {
  at::Tensor local;   // indices of local rows holding real tokens
  at::Tensor global;  // their global positions
};

RealRows RealRowsOf(const std::vector<int64_t>& positions, int64_t seq_len) {
  std::vector<int64_t> local, global;
  for (size_t i = 0; i < positions.size(); ++i) {
    if (positions[i] < seq_len) {
      local.push_back(static_cast<int64_t>(i));
      global.push_back(positions[i]);
    }
  }
  return {at::tensor(local, at::kLong), at::tensor(global, at::kLong)};
}

// Max abs error (relative = false) or relative L2 error of the real rows.
double Error(const at::Tensor& local, const at::Tensor& reference, const RealRows& rows,
             bool relative) {
  if (rows.local.numel() == 0) return 0;
  at::Tensor mine = local.detach().to(at::kCPU).to(at::kDouble).index_select(1, rows.local);
  at::Tensor theirs = reference.index_select(1, rows.global);
  if (!relative) return (mine - theirs).abs().max().item<double>();
  return ((mine - theirs).norm() / theirs.norm().clamp_min(1e-300)).item<double>();
}

int64_t Diff(const comm::OpCounters& c, const layout::TrafficPart& want) {
  return std::max({std::abs(c.bytes_sent - want.bytes),
                   std::abs(c.bytes_received - want.bytes_received), std::abs(c.calls - want.calls),
                   std::abs(c.messages_sent - want.messages)});
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

std::string AlgorithmName(const SelfCheckConfig& c) {
  const std::string schedule =
      c.ring > 1 && c.schedule == layout::RingSchedule::kLightSeq ? "+lightseq" : "";
  if (c.ulysses > 1 && c.ring > 1) return "usp" + schedule;
  if (c.ulysses > 1) return "ulysses";
  if (c.ring > 1) return c.schedule == layout::RingSchedule::kLightSeq ? "lightseq" : "ring";
  return "local";
}

std::string Describe(const SelfCheckConfig& c) {
  return absl::StrCat(AlgorithmName(c), " U=", c.ulysses, " R=", c.ring, " ",
                      layout::LayoutName(c.layout), c.causal ? " causal" : " full", " b=", c.batch,
                      " S=", c.seq_len, " h=", c.heads, " h_kv=", c.kv_heads, " d=", c.head_dim,
                      c.precision == CheckPrecision::kCpuFloat32
                          ? ""
                          : absl::StrCat(" ", PrecisionName(c.precision)));
}

const char* PrecisionName(CheckPrecision p) {
  switch (p) {
    case CheckPrecision::kCpuFloat32:
      return "cpu-fp32";
    case CheckPrecision::kCudaBFloat16:
      return "cuda-bf16";
    case CheckPrecision::kCudaFloat16:
      return "cuda-fp16";
  }
  return "?";
}

double SelfCheckResult::max_error() const { return std::max({err_o, err_dq, err_dk, err_dv}); }

SelfCheckSummary SelfCheckSummary::Of(const SelfCheckResult& r) {
  const auto& t = r.expected;
  SelfCheckSummary s;
  s.err_o = r.err_o;
  s.err_dq = r.err_dq;
  s.err_dk = r.err_dk;
  s.err_dv = r.err_dv;
  s.finite = r.finite;
  s.traffic_diff = r.traffic_diff;
  s.bytes_sent = r.bytes_sent_forward + r.bytes_sent_backward;
  s.formula_bytes = t.all_to_all_forward.bytes + t.all_to_all_backward.bytes +
                    t.send_recv_forward.bytes + t.send_recv_backward.bytes;
  s.forward_seconds = r.forward_seconds;
  s.backward_seconds = r.backward_seconds;
  return s;
}

std::string SelfCheckSummary::ToLine() const {
  return absl::StrFormat("%.17g %.17g %.17g %.17g %d %d %d %d %.17g %.17g", err_o, err_dq, err_dk,
                         err_dv, finite ? 1 : 0, traffic_diff, bytes_sent, formula_bytes,
                         forward_seconds, backward_seconds);
}

absl::StatusOr<SelfCheckSummary> SelfCheckSummary::FromLine(const std::string& line) {
  std::istringstream in(line);
  SelfCheckSummary s;
  int finite = 0;
  in >> s.err_o >> s.err_dq >> s.err_dk >> s.err_dv >> finite >> s.traffic_diff >> s.bytes_sent >>
      s.formula_bytes >> s.forward_seconds >> s.backward_seconds;
  if (!in)
    return absl::InvalidArgumentError(absl::StrCat("malformed self-check line: '", line, "'"));
  s.finite = finite == 1;
  return s;
}

bool SelfCheckSummary::Passes(double tolerance) const {
  return finite && traffic_diff == 0 && bytes_sent == formula_bytes &&
         std::max({err_o, err_dq, err_dk, err_dv}) <= tolerance;
}

Reference ComputeReference(const SelfCheckConfig& c) {
  torch::NoGradGuard outer;  // inputs are created without history
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(c.seed);
  Reference ref;
  ref.q = Randn({c.batch, c.seq_len, c.heads, c.head_dim}, gen);
  ref.k = Randn({c.batch, c.seq_len, c.kv_heads, c.head_dim}, gen);
  ref.v = Randn({c.batch, c.seq_len, c.kv_heads, c.head_dim}, gen);
  ref.d_o = Randn({c.batch, c.seq_len, c.heads, c.head_dim}, gen);
  if (IsCuda(c.precision)) {
    // The ranks see these rounded to 16 bits; so does the reference, so the
    // check measures the algorithm, not the input rounding.
    const at::ScalarType half = RankOptions(c.precision).dtype().toScalarType();
    for (at::Tensor* t : {&ref.q, &ref.k, &ref.v, &ref.d_o}) *t = t->to(half).to(at::kDouble);
  }

  torch::AutoGradMode grad_on(true);
  at::Tensor q = ref.q.clone().requires_grad_(true);
  at::Tensor k = ref.k.clone().requires_grad_(true);
  at::Tensor v = ref.v.clone().requires_grad_(true);
  const int64_t group = c.heads / c.kv_heads;
  // (b, heads, S, d); key/value heads repeated for the reference only.
  at::Tensor qt = q.transpose(1, 2);
  at::Tensor kt = k.transpose(1, 2).repeat_interleave(group, 1);
  at::Tensor vt = v.transpose(1, 2).repeat_interleave(group, 1);
  at::Tensor scores = at::matmul(qt, kt.transpose(-1, -2)) / std::sqrt(double(c.head_dim));
  if (c.causal) {
    at::Tensor future = at::ones({c.seq_len, c.seq_len}, at::kBool).triu(1);
    scores = scores.masked_fill(future, -std::numeric_limits<double>::infinity());
  }
  at::Tensor o = at::matmul(at::softmax(scores, -1), vt).transpose(1, 2);
  o.backward(ref.d_o);
  ref.o = o.detach();
  ref.dq = q.grad();
  ref.dk = k.grad();
  ref.dv = v.grad();
  return ref;
}

absl::StatusOr<SelfCheckResult> RunSelfCheck(const SelfCheckConfig& c, const Reference& ref,
                                             const ProcessGroups& groups,
                                             std::shared_ptr<kernels::ThreadPool> pool) {
  SPINDLE_ASSIGN_OR_RETURN(auto lay,
                           layout::SequenceLayout::Create(c.layout, c.seq_len, c.ulysses, c.ring));
  SpAttentionOptions options;
  options.h = c.heads;
  options.h_kv = c.kv_heads;
  options.causal = c.causal;
  options.sp_rank = groups.sp_rank();
  options.schedule = c.schedule;
  options.ulysses = groups.ulysses;
  options.ring = groups.ring;
  options.pool = std::move(pool);
  SPINDLE_ASSIGN_OR_RETURN(auto attention, SpAttention::Create(lay, options));

  // Garbage for padding rows is drawn from a per-rank stream.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(c.seed * 7919 + groups.world_rank);
  const std::vector<int64_t>& positions = attention->local_positions();
  const at::TensorOptions rank_options = RankOptions(c.precision);
  at::Tensor q = Shard(ref.q, positions, c.seq_len, gen, rank_options).requires_grad_(true);
  at::Tensor k = Shard(ref.k, positions, c.seq_len, gen, rank_options).requires_grad_(true);
  at::Tensor v = Shard(ref.v, positions, c.seq_len, gen, rank_options).requires_grad_(true);
  at::Tensor d_o = Shard(ref.d_o, positions, c.seq_len, gen, rank_options);

  SelfCheckResult result;
  result.expected = layout::AttentionCommVolume(
      {c.batch, lay.padded_len(), c.head_dim, /*act_bytes=*/q.element_size(), /*acc_bytes=*/4},
      attention->heads(),
      c.ring, c.schedule, groups.coord().ring);
  auto snapshot = [&] { return std::pair{groups.ulysses->counters(), groups.ring->counters()}; };

  // The checked iteration: outputs, gradients and traffic.
  const auto before = snapshot();
  at::Tensor o;
  // Virtual ranks on one GPU must not share autograd's device thread.
  const runtime::BackwardOnThisThread here;
  try {
    o = attention->Forward(q, k, v);
    const auto mid = snapshot();
    o.backward(d_o);
    const auto after = snapshot();
    using comm::Op;
    const auto& t = result.expected;
    result.traffic_diff =
        std::max({Diff((mid.first - before.first)[Op::kAllToAll], t.all_to_all_forward),
                  Diff((after.first - mid.first)[Op::kAllToAll], t.all_to_all_backward),
                  Diff((mid.second - before.second)[Op::kSendRecv], t.send_recv_forward),
                  Diff((after.second - mid.second)[Op::kSendRecv], t.send_recv_backward)});
    result.bytes_sent_forward =
        (mid.first - before.first).TotalBytesSent() + (mid.second - before.second).TotalBytesSent();
    result.bytes_sent_backward =
        (after.first - mid.first).TotalBytesSent() + (after.second - mid.second).TotalBytesSent();
    const RealRows rows = RealRowsOf(positions, c.seq_len);
    const bool relative = IsCuda(c.precision);
    result.err_o = Error(o, ref.o, rows, relative);
    result.err_dq = Error(q.grad(), ref.dq, rows, relative);
    result.err_dk = Error(k.grad(), ref.dk, rows, relative);
    result.err_dv = Error(v.grad(), ref.dv, rows, relative);
    result.finite = o.isfinite().all().item<bool>() && q.grad().isfinite().all().item<bool>() &&
                    k.grad().isfinite().all().item<bool>() &&
                    v.grad().isfinite().all().item<bool>();

    std::vector<double> forward_times, backward_times;
    for (int i = 0; i < c.timed_iterations; ++i) {
      q.mutable_grad().reset();
      k.mutable_grad().reset();
      v.mutable_grad().reset();
      Sync(c.precision);
      const auto t0 = Clock::now();
      at::Tensor out = attention->Forward(q, k, v);
      Sync(c.precision);
      const auto t1 = Clock::now();
      out.backward(d_o);
      Sync(c.precision);
      const auto t2 = Clock::now();
      forward_times.push_back(std::chrono::duration<double>(t1 - t0).count());
      backward_times.push_back(std::chrono::duration<double>(t2 - t1).count());
    }
    result.forward_seconds = Median(forward_times);
    result.backward_seconds = Median(backward_times);
  } catch (const c10::Error& e) {
    // A communicator failure (timeout, lost peer) surfaces here with its message.
    return absl::UnavailableError(absl::StrCat(Describe(c), " on world rank ", groups.world_rank,
                                               ": ", e.what_without_backtrace()));
  }

  // Every rank ends with the global figures.
  double maxima[] = {result.err_o,
                     result.err_dq,
                     result.err_dk,
                     result.err_dv,
                     result.finite ? 0.0 : 1.0,
                     double(result.traffic_diff),
                     result.forward_seconds,
                     result.backward_seconds};
  SPINDLE_RETURN_IF_ERROR(
      groups.world->AllReduce(maxima, 8, comm::DType::kFloat64, comm::ReduceOp::kMax));
  result.err_o = maxima[0];
  result.err_dq = maxima[1];
  result.err_dk = maxima[2];
  result.err_dv = maxima[3];
  result.finite = maxima[4] == 0.0;
  result.traffic_diff = static_cast<int64_t>(maxima[5]);
  result.forward_seconds = maxima[6];
  result.backward_seconds = maxima[7];
  return result;
}

}  // namespace spindle::sp
