#include "worker/model/recompute.h"

#include <torch/torch.h>

namespace spindle::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct SegmentHolder : torch::CustomClassHolder {
  explicit SegmentHolder(Segment fn) : fn(std::move(fn)) {}
  Segment fn;
};

class RecomputeFunction : public torch::autograd::Function<RecomputeFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, at::TensorList inputs,
                               c10::intrusive_ptr<SegmentHolder> segment) {
    ctx->saved_data["segment"] = c10::IValue::make_capsule(segment);
    ctx->save_for_backward(inputs.vec());
    torch::NoGradGuard no_grad;
    return segment->fn(inputs.vec());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto segment = c10::static_intrusive_pointer_cast<SegmentHolder>(
        ctx->saved_data["segment"].toCapsule());
    std::vector<at::Tensor> inputs;
    for (const at::Tensor& saved : ctx->get_saved_variables()) {
      at::Tensor input = saved.detach();
      if (input.is_floating_point()) input.requires_grad_(true);
      inputs.push_back(input);
    }
    std::vector<at::Tensor> outputs;
    {
      torch::AutoGradMode grad_on(true);
      outputs = segment->fn(inputs);
    }
    variable_list roots, grads;
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (outputs[i].requires_grad() && grad_outputs[i].defined()) {
        roots.push_back(outputs[i]);
        grads.push_back(grad_outputs[i]);
      }
    }
    if (!roots.empty()) torch::autograd::backward(roots, grads);
    variable_list input_grads;
    for (const at::Tensor& input : inputs) input_grads.push_back(input.grad());
    input_grads.push_back(at::Tensor());  // the segment argument
    return input_grads;
  }
};

}  // namespace

std::vector<at::Tensor> Recompute(Segment fn, const std::vector<at::Tensor>& inputs) {
  return RecomputeFunction::apply(at::TensorList(inputs),
                                  c10::make_intrusive<SegmentHolder>(std::move(fn)));
}

}  // namespace spindle::model
