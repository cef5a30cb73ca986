#include "coordinator/cli/spec_json.h"

#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "yaml-cpp/yaml.h"

namespace spindle::cli {
namespace {

nlohmann::ordered_json ScalarToJson(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted in the YAML: a string by intent
  if (text == "true") return true;
  if (text == "false") return false;
  if (text == "~" || text == "null") return nullptr;
  int64_t i = 0;
  if (absl::SimpleAtoi(text, &i)) return i;
  double d = 0;
  bool numeric = !text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) ||
                                   text[0] == '-' || text[0] == '+' || text[0] == '.');
  if (numeric && absl::SimpleAtod(text, &d)) return d;
  return text;
}

nlohmann::ordered_json NodeToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::ordered_json object = nlohmann::ordered_json::object();
      for (const auto& kv : node) object[kv.first.as<std::string>()] = NodeToJson(kv.second);
      return object;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::ordered_json array = nlohmann::ordered_json::array();
      for (const auto& item : node) array.push_back(NodeToJson(item));
      return array;
    }
    case YAML::NodeType::Scalar:
      return ScalarToJson(node);
    default:
      return nullptr;
  }
}

}  // namespace

absl::StatusOr<nlohmann::ordered_json> YamlToJson(const std::string& yaml_text) {
  try {
    return NodeToJson(YAML::Load(yaml_text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read YAML: ", e.what()));
  }
}

}  // namespace spindle::cli
