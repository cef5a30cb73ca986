#include "common/config/emit.h"

#include <vector>

#include "absl/strings/str_split.h"
#include "common/config/schema.h"
#include "yaml-cpp/yaml.h"

namespace spindle::config {

std::string EmitJobSpec(const JobSpec& spec) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  // Sections open along the current field's path; a section's fields are
  // contiguous in the table, so each opens once.
  std::vector<std::string> open;
  for (const schema::Field& field : schema::Fields()) {
    const std::vector<std::string> parts = absl::StrSplit(field.path, '.');
    size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common]) {
      ++common;
    }
    for (; open.size() > common; open.pop_back()) out << YAML::EndMap;
    for (size_t i = common; i + 1 < parts.size(); ++i) {
      out << YAML::Key << parts[i] << YAML::Value << YAML::BeginMap;
      open.push_back(parts[i]);
    }
    out << YAML::Key << parts.back() << YAML::Value;
    field.emit(spec, out);
  }
  for (; !open.empty(); open.pop_back()) out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace spindle::config
