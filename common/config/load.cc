#include "common/config/load.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/config/schema.h"
#include "common/config/validate.h"
#include "common/config/yaml_values.h"
#include "yaml-cpp/yaml.h"

namespace spindle::config {
namespace {

using schema::DisplayPath;
using schema::Field;

std::string ParentPath(const std::string& path) {
  const size_t dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(0, dot);
}

bool IsPrefixPath(const std::string& prefix, const std::string& path) {
  return path == prefix ||
         (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
          path[prefix.size()] == '.');
}

// Errors with their origin, formatted "<where>: <path>: <message>".
class Errors {
 public:
  explicit Errors(std::string source) : source_(std::move(source)) {}

  // A value written by --set: errors at or below path, and at sections the
  // override created (no mark), name the override instead of a line.
  void AddOverride(const std::string& path, std::string text) {
    overrides_[path] = std::move(text);
  }

  // path is a full path ("spec.train.lr"), or "" for the document itself.
  void Add(const YAML::Mark& mark, const std::string& path, const std::string& message) {
    const std::string* override_text = OverrideFor(path, mark);
    errors_.AddAt(override_text != nullptr ? absl::StrCat("--set ", *override_text)
                                           : schema::Location(source_, mark),
                  path.empty() ? "" : DisplayPath(path), message);
  }
  void AddOverrideSyntax(const std::string& text, const std::string& message) {
    errors_.AddAt(absl::StrCat("--set ", text), "", message);
  }

  bool empty() const { return errors_.empty(); }
  absl::Status ToStatus() const { return errors_.ToStatus(); }

 private:
  const std::string* OverrideFor(const std::string& path, const YAML::Mark& mark) const {
    for (const auto& [override_path, text] : overrides_) {
      if (IsPrefixPath(override_path, path)) return &text;
      if (!path.empty() && IsPrefixPath(path, override_path) && mark.is_null()) return &text;
    }
    return nullptr;
  }

  std::string source_;
  std::map<std::string, std::string> overrides_;
  schema::LocatedErrors errors_{source_};
};

void ApplyOverride(YAML::Node root, const std::string& text, Errors& errors) {
  const size_t eq = text.find('=');
  const std::string key = text.substr(0, eq);
  std::vector<std::string> parts = absl::StrSplit(key, '.');
  if (eq == std::string::npos || key.empty() ||
      std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); })) {
    errors.AddOverrideSyntax(text, "expected key.path=value, e.g. train.max_steps=100");
    return;
  }
  const std::string path = schema::FullPath(key);
  parts = absl::StrSplit(path, '.');
  const std::string value_text = text.substr(eq + 1);
  YAML::Node value;
  try {
    value = value_text.empty() ? YAML::Node(std::string()) : YAML::Load(value_text);
  } catch (const YAML::Exception& e) {
    errors.AddOverrideSyntax(text, absl::StrCat("the value is not valid YAML: ", e.msg));
    return;
  }
  YAML::Node node;
  node.reset(root);  // reset, not =: assigning a Node overwrites the node it refers to
  std::string at;    // the path of node
  for (size_t i = 0;; ++i) {
    if (!node.IsMap() && !node.IsNull()) {
      errors.AddOverrideSyntax(
          text, absl::StrCat(DisplayPath(at), " is ", schema::Describe(node), ", not a section"));
      return;
    }
    if (i + 1 == parts.size()) break;
    if (!node[parts[i]] || node[parts[i]].IsNull())
      node[parts[i]] = YAML::Node(YAML::NodeType::Map);
    YAML::Node child = node[parts[i]];
    node.reset(child);
    at = at.empty() ? parts[i] : absl::StrCat(at, ".", parts[i]);
  }
  node[parts.back()] = value;
  errors.AddOverride(path, text);
}

// Walks the YAML tree against the schema: reports unknown and duplicate keys
// and sections of the wrong type, collects the leaves that are present and
// the mark of every path seen.
class Walker {
 public:
  explicit Walker(Errors* errors) : errors_(errors) {}

  void Walk(const YAML::Node& node, const std::string& path) {
    if (const Field* field = schema::FindField(path)) {
      present_[field] = node;
      return;
    }
    if (node.IsNull()) return;  // `train:` with nothing under it
    if (!node.IsMap()) {
      errors_->Add(node.Mark(), path,
                   absl::StrCat("expected a section with fields ",
                                absl::StrJoin(schema::ChildKeys(path), ", "), "; got ",
                                schema::Describe(node)));
      return;
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        errors_->Add(kv.first.Mark(), path, "field names must be plain strings");
        continue;
      }
      const std::string& key = kv.first.Scalar();
      const std::string child = path.empty() ? key : absl::StrCat(path, ".", key);
      if (!seen.insert(key).second) {
        errors_->Add(kv.first.Mark(), child, "duplicate field; it is already set above");
        continue;
      }
      if (!schema::IsSection(child) && schema::FindField(child) == nullptr) {
        errors_->Add(kv.first.Mark(), child, UnknownField(path, key));
        continue;
      }
      marks_[child] = kv.second.Mark().is_null() ? kv.first.Mark() : kv.second.Mark();
      Walk(kv.second, child);
    }
  }

  const std::map<const Field*, YAML::Node>& present() const { return present_; }

  // The mark of path or, for a path not written, of its nearest written section.
  YAML::Mark MarkOf(std::string path) const {
    for (; !path.empty(); path = ParentPath(path)) {
      auto it = marks_.find(path);
      if (it != marks_.end()) return it->second;
    }
    return YAML::Mark::null_mark();
  }

 private:
  static std::string UnknownField(const std::string& section, const std::string& key) {
    if (section.empty()) {
      const std::vector<std::string> sections = schema::ChildKeys("spec");
      if (std::find(sections.begin(), sections.end(), key) != sections.end()) {
        return absl::StrCat("unknown top-level field; ", key,
                            " is a section of the spec: indent "
                            "it under `spec:`");
      }
    }
    const std::string suggestion = schema::Suggest(section, key);
    if (!suggestion.empty()) {
      return absl::StrCat("unknown field; did you mean ", DisplayPath(suggestion), "?");
    }
    return absl::StrCat("unknown field; ", section.empty() ? "the document" : DisplayPath(section),
                        " has ", absl::StrJoin(schema::ChildKeys(section), ", "));
  }

  Errors* errors_;
  std::map<const Field*, YAML::Node> present_;
  std::map<std::string, YAML::Mark> marks_;
};

}  // namespace

absl::StatusOr<JobSpec> ParseJobSpec(std::string_view yaml_text, std::string_view source_name,
                                     absl::Span<const std::string> overrides) {
  Errors errors{std::string(source_name)};
  absl::StatusOr<YAML::Node> loaded = schema::LoadYaml(yaml_text, source_name);
  if (!loaded.ok()) return loaded.status();
  YAML::Node root = *loaded;
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) {
    errors.Add(root.Mark(), "",
               absl::StrCat("expected a job spec (a map with apiVersion, kind, metadata and "
                            "spec), got ",
                            schema::Describe(root)));
    return errors.ToStatus();
  }
  Walker walker(&errors);
  JobSpec spec;
  try {
    for (const std::string& o : overrides) ApplyOverride(root, o, errors);
    walker.Walk(root, "");
    // Table order, not file order: model.preset comes before the fields it fills.
    for (const Field& field : schema::Fields()) {
      auto it = walker.present().find(&field);
      if (it == walker.present().end()) {
        if (field.required) {
          errors.Add(walker.MarkOf(field.path), field.path, "required field is missing");
        }
        continue;
      }
      const absl::Status status = field.parse(it->second, spec);
      if (!status.ok()) errors.Add(it->second.Mark(), field.path, std::string(status.message()));
    }
  } catch (const YAML::Exception& e) {  // not expected: the walk checks node types first
    errors.Add(e.mark, "", absl::StrCat("unexpected YAML error: ", e.msg));
  }
  if (!errors.empty()) return errors.ToStatus();

  FillDefaults(&spec);
  for (const FieldError& e : CheckJobSpec(spec)) {
    const std::string path = schema::FullPath(e.path);
    errors.Add(walker.MarkOf(path), path, e.message);
  }
  if (!errors.empty()) return errors.ToStatus();
  return spec;
}

absl::StatusOr<JobSpec> LoadJobSpecFile(const std::string& path,
                                        absl::Span<const std::string> overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read job spec ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("error reading job spec ", path));
  }
  return ParseJobSpec(text.str(), path, overrides);
}

void FillDefaults(JobSpec* spec) {
  ModelSpec& m = spec->model;
  if (m.num_key_value_heads == 0) m.num_key_value_heads = m.num_attention_heads;
  if (m.max_position_embeddings == 0) {
    m.max_position_embeddings = std::max<int64_t>(spec->data.seq_len, 2048);
  }
  if (spec->data.global_batch_seqs == 0 && spec->parallel.dp != kAuto) {
    spec->data.global_batch_seqs = int64_t{spec->parallel.dp} * spec->data.micro_batch_seqs;
  }
  if (spec->checkpoint.dir.empty()) {
    spec->checkpoint.dir = absl::StrCat("./checkpoints/", spec->metadata.name);
  }
}

}  // namespace spindle::config
