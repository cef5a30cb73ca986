// The job spec's YAML schema as one ordered table of leaf fields, shared by
// the loader (load.cc: types, unknown keys), the validator (validate.cc:
// per-field ranges) and the emitter (emit.cc: key order, canonical values).
// Internal to spindle_config: callers use load.h, validate.h and emit.h.
//
// Paths are full YAML paths ("spec.train.optimizer.lr"); every proper prefix
// of a leaf's path is a section (a YAML map), and the fields of a section are
// contiguous in the table. Errors and --set write paths relative to `spec:`
// (DisplayPath: "train.optimizer.lr"); apiVersion, kind and metadata.* are at
// the top.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/config/job_spec.h"
#include "yaml-cpp/yaml.h"

namespace spindle::config::schema {

struct Field {
  std::string path;
  // Stores the YAML value in the spec. Checks type and representability only
  // ("expected an integer, got 'abc'"); ranges are `check`'s job. The error
  // names the value, not the path.
  std::function<absl::Status(const YAML::Node&, JobSpec&)> parse;
  // The field's own range check (no other field involved); OK when the value
  // is acceptable. Cross-field rules live in validate.cc.
  std::function<absl::Status(const JobSpec&)> check;
  // Writes the value (after its key) in canonical form: parse(emit(x)) == x.
  std::function<void(const JobSpec&, YAML::Emitter&)> emit;
  bool required = false;  // the key must be written in the file
};

// Every leaf, in emit order.
const std::vector<Field>& Fields();
// The leaf with this full path, or nullptr.
const Field* FindField(std::string_view path);
// True for "" (the document) and every proper prefix of a leaf path.
bool IsSection(std::string_view path);
// The keys directly under a section, in table order.
std::vector<std::string> ChildKeys(std::string_view section);

// "spec.train.max_steps" -> "train.max_steps"; other paths, and paths under
// an unknown section of spec ("spec.foo"), unchanged.
std::string DisplayPath(std::string_view path);
// The inverse: "train.max_steps" -> "spec.train.max_steps"; a path starting
// with apiVersion, kind, metadata or spec is already full.
std::string FullPath(std::string_view display_path);

// The known path an unknown `key` under `section` most likely meant, or "".
// 1. The sibling with the smallest edit distance (ignoring case, '_' and
//    '-'), when at most max(1, length / 3) edits away.
// 2. Else, anywhere in the schema, the field or section whose key shares the
//    longest words with `key` (split at '_', '-'); words of its parent
//    sections count once a key word matched ("heartbeat_interval" ->
//    fault_tolerance.heartbeat.interval). An identical key elsewhere wins
//    ("train.lr" -> train.optimizer.lr); at least 3 matched characters;
//    ties go to the smaller edit distance, then to table order.
std::string Suggest(std::string_view section, std::string_view key);

// The candidate within max(1, length / 3) edits of text, or "".
std::string Closest(std::string_view text, const std::vector<std::string>& candidates);

// Optimal-string-alignment distance: insertions, deletions, substitutions
// and adjacent transpositions each cost 1.
int EditDistance(std::string_view a, std::string_view b);

}  // namespace spindle::config::schema
