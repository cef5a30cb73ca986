#include "worker/model/tensor_file.h"

#include <torch/torch.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/formats/safetensors.h"
#include "common/status.h"

namespace spindle::model {
namespace {

using formats::DType;

absl::StatusOr<DType> ToFormat(at::ScalarType t, const std::string& name) {
  switch (t) {
    case at::kFloat:
      return DType::kF32;
    case at::kBFloat16:
      return DType::kBF16;
    case at::kHalf:
      return DType::kF16;
    case at::kDouble:
      return DType::kF64;
    case at::kLong:
      return DType::kI64;
    case at::kInt:
      return DType::kI32;
    case at::kByte:
      return DType::kU8;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": tensor type ", c10::toString(t), " has no safetensors mapping"));
  }
}

absl::StatusOr<at::ScalarType> ToTorch(DType t, const std::string& label, const std::string& name) {
  switch (t) {
    case DType::kF32:
      return at::kFloat;
    case DType::kBF16:
      return at::kBFloat16;
    case DType::kF16:
      return at::kHalf;
    case DType::kF64:
      return at::kDouble;
    case DType::kI64:
      return at::kLong;
    case DType::kI32:
      return at::kInt;
    case DType::kU8:
      return at::kByte;
    case DType::kI8:
      return at::kChar;
    case DType::kI16:
      return at::kShort;
    case DType::kBool:
      return at::kBool;
    default:
      return absl::InvalidArgumentError(absl::StrCat(label, ": tensor ", name, " has dtype ",
                                                     std::string(formats::DTypeName(t)),
                                                     ", which Spindle cannot load"));
  }
}

std::string ShapeString(at::IntArrayRef shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace

absl::Status WriteTensorFile(const std::string& path, const NamedTensors& tensors,
                             const std::map<std::string, std::string>& metadata) {
  formats::SafetensorsWriter writer;
  std::vector<at::Tensor> keep;  // contiguous CPU copies alive until Write
  keep.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    SPINDLE_ASSIGN_OR_RETURN(DType dtype, ToFormat(tensor.scalar_type(), name));
    keep.push_back(tensor.detach().to(at::kCPU).contiguous());
    const at::Tensor& t = keep.back();
    SPINDLE_RETURN_IF_ERROR(
        writer.AddTensor(name, dtype, t.sizes().vec(), t.data_ptr(), t.numel() * t.element_size()));
  }
  for (const auto& [key, value] : metadata) SPINDLE_RETURN_IF_ERROR(writer.AddMetadata(key, value));
  return writer.Write(path);
}

absl::StatusOr<std::map<std::string, at::Tensor>> ReadTensorFile(const std::string& path) {
  SPINDLE_ASSIGN_OR_RETURN(formats::SafetensorsFile file, formats::SafetensorsFile::Open(path));
  std::map<std::string, at::Tensor> out;
  for (const formats::TensorView& view : file.tensors()) {
    SPINDLE_ASSIGN_OR_RETURN(at::ScalarType type, ToTorch(view.dtype, path, view.name));
    at::Tensor t = at::empty(view.shape, at::TensorOptions().dtype(type));
    // memcpy: the mapping need not be aligned for the element type.
    if (view.bytes > 0) std::memcpy(t.data_ptr(), view.data, view.bytes);
    out.emplace(view.name, std::move(t));
  }
  return out;
}

absl::Status LoadInto(const std::string& label, const std::map<std::string, at::Tensor>& source,
                      const NamedTensors& destinations, bool (*ignore)(const std::string& name)) {
  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  std::vector<std::string> missing;
  for (const auto& [name, dst] : destinations) {
    auto it = source.find(name);
    if (it == source.end()) {
      missing.push_back(name);
      continue;
    }
    if (it->second.sizes() != dst.sizes()) {
      return absl::InvalidArgumentError(
          absl::StrCat(label, ": tensor ", name, " has shape ", ShapeString(it->second.sizes()),
                       ", the model expects ", ShapeString(dst.sizes()),
                       "; check that config.json matches the weights"));
    }
    at::Tensor target = dst;
    target.copy_(it->second);
    used.insert(name);
  }
  if (!missing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        label, ": missing ", missing.size(), " tensor(s) the model needs: ",
        absl::StrJoin(missing.begin(), missing.begin() + std::min<size_t>(5, missing.size()), ", "),
        missing.size() > 5 ? ", …" : ""));
  }
  for (const auto& [name, tensor] : source) {
    if (used.count(name) || (ignore && ignore(name))) continue;
    return absl::InvalidArgumentError(absl::StrCat(
        label, ": unexpected tensor ", name,
        "; the file is not for this model (check config.json: layers, tie_word_embeddings)"));
  }
  return absl::OkStatus();
}

}  // namespace spindle::model
