// Activation checkpointing by recomputation (libtorch's C++ API has none):
// Recompute(fn, inputs) runs fn without recording its graph, keeps only the
// inputs, and in backward re-runs fn with gradients on and back-propagates
// through the fresh graph. Parameters used inside fn get their gradients
// during that inner backward (so gradient hooks fire there too).
//
// fn must be deterministic and must capture by value whatever it needs: it is
// called again during backward, after the caller's frame is gone.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace spindle::model {

using Segment = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>& inputs)>;

std::vector<at::Tensor> Recompute(Segment fn, const std::vector<at::Tensor>& inputs);

}  // namespace spindle::model
