#include "worker/model/hf_weights.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/formats/file_io.h"
#include "common/status.h"
#include "worker/model/tensor_file.h"

namespace spindle::model {
namespace {

constexpr size_t kMaxJsonBytes = 64 << 20;

// Buffers some exporters add, and the copy of a tied lm_head some write
// (reached only when the model has no lm_head of its own).
bool IsIgnorable(const std::string& name) {
  return absl::EndsWith(name, "rotary_emb.inv_freq") || name == "lm_head.weight";
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

NamedTensors Parameters(LlamaForCausalLM& model) {
  NamedTensors out;
  for (auto& item : model->named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

// Tensors of a sharded checkpoint: the index's weight_map names each file.
absl::StatusOr<std::map<std::string, at::Tensor>> ReadSharded(const std::string& dir,
                                                              const std::string& index_path) {
  SPINDLE_ASSIGN_OR_RETURN(std::string text, formats::ReadFileToString(index_path, kMaxJsonBytes));
  const nlohmann::json index = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(index_path, ": no \"weight_map\" object; not a safetensors index"));
  }
  std::map<std::string, std::string> shards;  // file -> first tensor naming it
  for (const auto& [name, file] : index["weight_map"].items()) {
    if (!file.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(index_path, ": weight_map[\"", name, "\"] is not a file name"));
    }
    shards.emplace(file.get<std::string>(), name);
  }
  std::map<std::string, at::Tensor> all;
  for (const auto& [file, unused] : shards) {
    SPINDLE_ASSIGN_OR_RETURN(auto part, ReadTensorFile(formats::JoinPath(dir, file)));
    all.merge(part);
  }
  return all;
}

}  // namespace

absl::StatusOr<LlamaConfig> ReadHfConfig(const std::string& dir) {
  const std::string path = formats::JoinPath(dir, "config.json");
  SPINDLE_ASSIGN_OR_RETURN(std::string text, formats::ReadFileToString(path, kMaxJsonBytes));
  return ParseHfConfigJson(text, path);
}

absl::Status ExportHf(LlamaForCausalLM& model, const std::string& dir) {
  return ExportHf(model->config(), Parameters(model), dir);
}

absl::Status ExportHf(const LlamaConfig& config, const NamedTensors& weights,
                      const std::string& dir) {
  if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
    return formats::ErrnoError(errno, "mkdir", dir);
  }
  SPINDLE_RETURN_IF_ERROR(config.Validate());
  SPINDLE_RETURN_IF_ERROR(
      WriteTensorFile(formats::JoinPath(dir, "model.safetensors"), weights, {{"format", "pt"}}));
  return formats::WriteFileAtomically(formats::JoinPath(dir, "config.json"),
                                      ToHfConfigJson(config) + "\n");
}

absl::Status ImportHfWeights(const std::string& dir, LlamaForCausalLM& model) {
  const std::string single = formats::JoinPath(dir, "model.safetensors");
  const std::string index = formats::JoinPath(dir, "model.safetensors.index.json");
  std::map<std::string, at::Tensor> tensors;
  std::string label = single;
  if (Exists(single)) {
    SPINDLE_ASSIGN_OR_RETURN(tensors, ReadTensorFile(single));
  } else if (Exists(index)) {
    label = index;
    SPINDLE_ASSIGN_OR_RETURN(tensors, ReadSharded(dir, index));
  } else {
    return absl::NotFoundError(absl::StrCat(
        dir,
        ": neither model.safetensors nor model.safetensors.index.json; point model.init.path "
        "at a Hugging Face model directory"));
  }
  return LoadInto(label, tensors, Parameters(model), IsIgnorable);
}

}  // namespace spindle::model
