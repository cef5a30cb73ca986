#include "common/config/yaml_values.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config/schema.h"

namespace spindle::config::schema {

std::string Location(std::string_view source, const YAML::Mark& mark) {
  if (mark.is_null()) return std::string(source);
  return absl::StrCat(std::string(source), ":", mark.line + 1, ":", mark.column + 1);
}

void LocatedErrors::AddAt(const std::string& where, const std::string& path,
                          const std::string& problem) {
  lines_.push_back(path.empty() ? absl::StrCat(where, ": ", problem)
                                : absl::StrCat(where, ": ", path, ": ", problem));
}

absl::Status LocatedErrors::ToStatus() const {
  return absl::InvalidArgumentError(absl::StrJoin(lines_, "\n"));
}

absl::StatusOr<YAML::Node> LoadYaml(std::string_view text, std::string_view source) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(Location(source, e.mark), ": invalid YAML: ", e.msg));
  }
}

bool IsQuoted(const YAML::Node& n) { return n.IsScalar() && n.Tag() == "!"; }

std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return IsQuoted(n) ? absl::StrCat("the string \"", n.Scalar(), "\"")
                         : absl::StrCat("'", n.Scalar(), "'");
    default:
      return "no value";
  }
}

absl::Status TypeError(const char* expected, const YAML::Node& n) {
  return absl::InvalidArgumentError(absl::StrCat("expected ", expected, ", got ", Describe(n)));
}

absl::StatusOr<int64_t> ReadInt(const YAML::Node& n, const char* expected) {
  if (expected == nullptr) expected = "an integer";
  if (!n.IsScalar() || IsQuoted(n)) return TypeError(expected, n);
  const std::string& t = n.Scalar();
  int64_t v = 0;
  if (absl::SimpleAtoi(t, &v)) return v;
  double d = 0;
  if (t.find_first_of("eE") != std::string::npos && absl::SimpleAtod(t, &d) && std::isfinite(d) &&
      d == std::floor(d) && std::fabs(d) < 9.2e18) {
    return static_cast<int64_t>(d);
  }
  return TypeError(expected, n);
}

absl::StatusOr<double> ReadDouble(const YAML::Node& n) {
  double v = 0;
  if (!n.IsScalar() || IsQuoted(n) || !absl::SimpleAtod(n.Scalar(), &v) || !std::isfinite(v)) {
    return TypeError("a number", n);
  }
  return v;
}

absl::StatusOr<bool> ReadBool(const YAML::Node& n) {
  if (n.IsScalar() && !IsQuoted(n)) {
    const std::string& t = n.Scalar();
    if (t == "true" || t == "True" || t == "TRUE") return true;
    if (t == "false" || t == "False" || t == "FALSE") return false;
  }
  return TypeError("true or false", n);
}

absl::StatusOr<std::string> ReadString(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  if (n.IsNull())
    return absl::InvalidArgumentError("expected a value, got none (write \"\" for empty)");
  return TypeError("a string", n);
}

absl::StatusOr<size_t> ReadName(const YAML::Node& n, const std::vector<std::string>& names) {
  if (!n.IsScalar()) {
    return TypeError(absl::StrCat("one of ", absl::StrJoin(names, ", ")).c_str(), n);
  }
  for (size_t i = 0; i < names.size(); ++i) {
    if (n.Scalar() == names[i]) return i;
  }
  return UnknownName(n.Scalar(), names);
}

absl::Status UnknownName(const std::string& value, const std::vector<std::string>& names) {
  const std::string hint = Closest(value, names);
  return absl::InvalidArgumentError(
      absl::StrCat("'", value, "' is not one of ", absl::StrJoin(names, ", "),
                   hint.empty() ? "" : "; did you mean ", hint, hint.empty() ? "" : "?"));
}

std::string FormatDouble(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrCat(static_cast<int64_t>(v));
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

void EmitString(const std::string& s, YAML::Emitter& out) {
  const bool null_word = s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
  if (null_word) out << YAML::DoubleQuoted;
  out << s;
}

}  // namespace spindle::config::schema
