// Reading and writing single YAML values for the schema table (schema.cc):
// strict scalar readers whose errors describe the value (never the path), and
// the canonical writers. Internal to spindle_config.
//
// Strictness: numbers and booleans must be plain (unquoted) scalars; booleans
// are true/false (YAML 1.2, so no yes/no/on/off); integers may use an exponent
// when the value is whole ("1e9"); doubles must be finite.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "yaml-cpp/yaml.h"

namespace spindle::config::schema {

// "<source>:<line>:<column>" (1-based), or `source` when the mark is unknown.
std::string Location(std::string_view source, const YAML::Mark& mark);

// The errors found in one YAML document, each "<where>: <path>: <problem>"
// ("<where>: <problem>" without a path), reported together as one
// InvalidArgument, one per line.
class LocatedErrors {
 public:
  explicit LocatedErrors(std::string source) : source_(std::move(source)) {}
  void Add(const YAML::Mark& mark, const std::string& path, const std::string& problem) {
    AddAt(Location(source_, mark), path, problem);
  }
  // `where` already formatted, e.g. "--set train.lr=x".
  void AddAt(const std::string& where, const std::string& path, const std::string& problem);
  bool empty() const { return lines_.empty(); }
  absl::Status ToStatus() const;

 private:
  std::string source_;
  std::vector<std::string> lines_;
};

// YAML::Load; a syntax error becomes "<location>: invalid YAML: <what>".
absl::StatusOr<YAML::Node> LoadYaml(std::string_view text, std::string_view source);

// True for a quoted scalar ('x' or "x"): yaml-cpp tags those "!".
bool IsQuoted(const YAML::Node& n);
// "a map", "a list", "no value", "'abc'" (plain) or "the string \"abc\"" (quoted).
std::string Describe(const YAML::Node& n);
// "expected <expected>, got <Describe(n)>".
absl::Status TypeError(const char* expected, const YAML::Node& n);

// expected overrides the "an integer" in the type error.
absl::StatusOr<int64_t> ReadInt(const YAML::Node& n, const char* expected = nullptr);
absl::StatusOr<double> ReadDouble(const YAML::Node& n);
absl::StatusOr<bool> ReadBool(const YAML::Node& n);
// Any scalar, quoted or not; no value is an error (write "" for empty).
absl::StatusOr<std::string> ReadString(const YAML::Node& n);
// The index of the scalar in names, or UnknownName.
absl::StatusOr<size_t> ReadName(const YAML::Node& n, const std::vector<std::string>& names);
// "'zigzg' is not one of contiguous, zigzag, striped; did you mean zigzag?"
absl::Status UnknownName(const std::string& value, const std::vector<std::string>& names);

// Whole numbers as integers ("10000"), others in the shortest %g form that
// reads back as exactly v: 3e-4 -> "0.0003", 1e-5 -> "1e-05".
std::string FormatDouble(double v);
// Plain when yaml-cpp reads it back as the same string, double-quoted when
// it is empty or a null word (~, null).
void EmitString(const std::string& s, YAML::Emitter& out);

}  // namespace spindle::config::schema
