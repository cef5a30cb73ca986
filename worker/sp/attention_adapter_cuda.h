// The CUDA half of the torch adapter (attention_adapter.h and ulysses_copy.h
// dispatch here for CUDA tensors): bf16/fp16 q, k, v, o and d_o; fp32 lse and gradients; the
// running output of a merge fp32. Kernels run on the tensors' device, on
// libtorch's current stream. Compiled only against a CUDA libtorch
// (SPINDLE_TORCH_CUDA).
#pragma once

#include <ATen/core/Tensor.h>

#include "kernels/copy_args.h"
#include "worker/sp/attention_adapter.h"

namespace spindle::sp::cuda {

void BlockForwardInto(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                      const BlockMask& mask, double scale, at::Tensor& o, at::Tensor& lse);

void BlockBackwardInto(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                       const at::Tensor& o, const at::Tensor& d_o, const at::Tensor& lse,
                       const BlockMask& mask, double scale, at::Tensor& dq, at::Tensor& dk,
                       at::Tensor& dv, bool accumulate);

// o and lse fp32; o_blk fp32 or the activation type (converted first).
void MergeInto(at::Tensor& o, at::Tensor& lse, const at::Tensor& o_blk, const at::Tensor& lse_blk);

// A layout copy whose pointers are in `on`'s device memory.
void Copy3d(const kernels::Copy3dArgs& args, const at::Tensor& on);

}  // namespace spindle::sp::cuda
