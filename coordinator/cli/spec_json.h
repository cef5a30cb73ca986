// YAML -> JSON for `spindle validate -o json`: the canonical spec that
// config::EmitJobSpec writes, as a JSON object in the same key order.
// Scalars keep their YAML type where it is plain (integers, floats,
// true/false, null); quoted scalars and the rest ("auto", "90s") stay strings.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace spindle::cli {

// InvalidArgument when yaml_text does not parse.
absl::StatusOr<nlohmann::ordered_json> YamlToJson(const std::string& yaml_text);

}  // namespace spindle::cli
