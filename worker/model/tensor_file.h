// The one adapter between torch tensors and safetensors files
// (common/formats/safetensors.h): named CPU tensors out, named tensors in.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace spindle::model {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Writes the tensors (any of float32, bfloat16, float16, float64, int64,
// int32, uint8; made contiguous on CPU) atomically to path.
absl::Status WriteTensorFile(const std::string& path, const NamedTensors& tensors,
                             const std::map<std::string, std::string>& metadata = {});

// Every tensor of the file, copied out of the mapping, in the file's dtype.
absl::StatusOr<std::map<std::string, at::Tensor>> ReadTensorFile(const std::string& path);

// Copies `source` into each named destination, converting dtype. Every
// destination name must be present with the same shape, and every source
// name must be used except those for which `ignore(name)` holds; errors name
// `label` (the file), the tensor and how the shapes differ.
absl::Status LoadInto(const std::string& label, const std::map<std::string, at::Tensor>& source,
                      const NamedTensors& destinations,
                      bool (*ignore)(const std::string& name) = nullptr);

}  // namespace spindle::model
