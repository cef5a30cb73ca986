#include "worker/sp/sp_attention.h"

#include <torch/torch.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "worker/sp/lightseq.h"
#include "worker/sp/ring.h"
#include "worker/sp/ulysses.h"

namespace spindle::sp {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Keeps the SpAttention alive for as long as a graph that used it.
struct SpAttentionRef : torch::CustomClassHolder {
  explicit SpAttentionRef(std::shared_ptr<const SpAttention> sp) : sp(std::move(sp)) {}
  std::shared_ptr<const SpAttention> sp;
};

class SpAttentionFunction : public torch::autograd::Function<SpAttentionFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k,
                               const at::Tensor& v, std::shared_ptr<const SpAttention> sp) {
    at::Tensor q_r = q, k_r = k, v_r = v;
    if (sp->ulysses()) std::tie(q_r, k_r, v_r) = sp->ulysses()->ScatterHeads(q, k, v);
    auto [o_r, lse] = sp->ring().Forward(q_r, k_r, v_r);
    at::Tensor o = sp->ulysses() ? sp->ulysses()->GatherHeads(o_r) : o_r;
    ctx->save_for_backward({q_r, k_r, v_r, o_r, lse});
    ctx->saved_data["sp"] = c10::IValue::make_capsule(c10::make_intrusive<SpAttentionRef>(sp));
    return {o};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const auto sp =
        c10::static_intrusive_pointer_cast<SpAttentionRef>(ctx->saved_data["sp"].toCapsule())->sp;
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor& q_r = saved[0];
    const at::Tensor& k_r = saved[1];
    const at::Tensor& v_r = saved[2];
    const at::Tensor& o_r = saved[3];
    const at::Tensor& lse = saved[4];
    at::Tensor d_o = grad_out[0].contiguous();
    at::Tensor d_o_r = sp->ulysses() ? sp->ulysses()->ScatterHeads(d_o) : d_o;
    auto [dq, dk, dv] = sp->ring().Backward(q_r, k_r, v_r, o_r, lse, d_o_r);
    // fp32 accumulators back to the activations' type (a no-op for fp32
    // activations), so the gradient all-to-all moves as many bytes as the forward's.
    const at::ScalarType type = q_r.scalar_type();
    dq = dq.to(type);
    dk = dk.to(type);
    dv = dv.to(type);
    if (sp->ulysses()) std::tie(dq, dk, dv) = sp->ulysses()->GatherGrads(dq, dk, dv);
    return {dq, dk, dv, at::Tensor()};
  }
};

}  // namespace

absl::StatusOr<std::shared_ptr<SpAttention>> SpAttention::Create(
    const layout::SequenceLayout& layout, SpAttentionOptions options) {
  auto heads = layout::PlanHeads(options.h, options.h_kv, layout.ulysses(), "parallel.ulysses");
  if (!heads.ok()) return heads.status();
  if (options.schedule == layout::RingSchedule::kLightSeq) {
    RingOptions ring;
    for (int r = 0; r < layout.ring(); ++r) ring.positions.push_back(layout.RingPositions(r));
    ring.causal = options.causal;
    if (absl::Status s = LightSeqAttention::Validate(ring); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("parallel.schedule: ", s.message()));
    }
  }
  auto group_size = [](const std::shared_ptr<comm::Communicator>& c) { return c ? c->size() : 1; };
  if (group_size(options.ulysses) != layout.ulysses() ||
      group_size(options.ring) != layout.ring()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the layout wants ulysses=", layout.ulysses(), " ring=", layout.ring(),
                     " but the process groups have ", group_size(options.ulysses), " and ",
                     group_size(options.ring), " ranks"));
  }
  if (options.sp_rank < 0 || options.sp_rank >= layout.sp()) {
    return absl::InvalidArgumentError(
        absl::StrCat("sp_rank ", options.sp_rank, " is outside [0, ", layout.sp(), ")"));
  }
  return std::shared_ptr<SpAttention>(new SpAttention(layout, *heads, std::move(options)));
}

SpAttention::SpAttention(const layout::SequenceLayout& layout, const layout::HeadPlan& heads,
                         SpAttentionOptions options)
    : layout_(layout), heads_(heads), options_(std::move(options)) {
  local_positions_ = layout_.Positions(options_.sp_rank);
  if (layout_.ulysses() > 1) ulysses_ = std::make_unique<UlyssesExchange>(heads_, options_.ulysses);
  RingOptions ring;
  for (int r = 0; r < layout_.ring(); ++r) ring.positions.push_back(layout_.RingPositions(r));
  ring.valid_len = layout_.seq_len();
  ring.causal = options_.causal;
  ring.scale = options_.scale;
  ring.pool = options_.pool.get();
  if (options_.schedule == layout::RingSchedule::kLightSeq) {
    ring_ = std::make_unique<LightSeqAttention>(std::move(ring), options_.ring);
  } else {
    ring_ = std::make_unique<RingAttention>(std::move(ring), options_.ring);
  }
}

SpAttention::~SpAttention() = default;

at::Tensor SpAttention::Forward(const at::Tensor& q, const at::Tensor& k,
                                const at::Tensor& v) const {
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4,
              "sequence-parallel attention takes (b, L, heads, d) tensors");
  TORCH_CHECK(q.size(1) == layout_.local_len() && k.size(1) == layout_.local_len(),
              "this rank holds ", layout_.local_len(), " tokens of the layout, but q has ",
              q.size(1), " and k has ", k.size(1));
  TORCH_CHECK(q.size(2) == heads_.h && k.size(2) == heads_.h_kv && v.size(2) == heads_.h_kv,
              "expected ", heads_.h, " query and ", heads_.h_kv, " key/value heads, got ",
              q.size(2), " and ", k.size(2));
  forward_calls_.fetch_add(1, std::memory_order_relaxed);
  return SpAttentionFunction::apply(q, k, v, shared_from_this())[0];
}

}  // namespace spindle::sp
