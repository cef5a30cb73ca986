#include "common/config/daemon_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/config/schema.h"
#include "common/config/yaml_values.h"
#include "yaml-cpp/yaml.h"

namespace spindle::config {
namespace {

// "--cpu-slots=2" -> "--cpu_slots=2": absl flags are spelled with
// underscores; both spellings are accepted. Values are left alone.
std::string DashesToUnderscores(std::string arg) {
  if (arg.size() <= 2 || arg.rfind("--", 0) != 0) return arg;
  const size_t end = std::min(arg.find('='), arg.size());
  std::replace(arg.begin() + 2, arg.begin() + static_cast<std::ptrdiff_t>(end), '-', '_');
  return arg;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> LoadDaemonFile(
    const std::string& path, const std::vector<std::string>& known_flags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read config file ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(schema::Location(path, e.mark), ": ", e.msg));
  }
  std::vector<std::string> flags;
  if (root.IsNull()) return flags;
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": expected a map of setting: value, got ", schema::Describe(root)));
  }
  std::string errors;
  for (const auto& kv : root) {
    const std::string key = absl::StrReplaceAll(kv.first.Scalar(), {{"-", "_"}});
    const std::string where = schema::Location(path, kv.first.Mark());
    if (std::find(known_flags.begin(), known_flags.end(), key) == known_flags.end()) {
      const std::string hint = schema::Closest(key, known_flags);
      absl::StrAppend(&errors, errors.empty() ? "" : "\n", where, ": ", key, ": unknown setting",
                      hint.empty() ? "" : absl::StrCat("; did you mean ", hint, "?"));
      continue;
    }
    if (!kv.second.IsScalar()) {
      absl::StrAppend(&errors, errors.empty() ? "" : "\n", where, ": ", key,
                      ": expected a single value, got ", schema::Describe(kv.second));
      continue;
    }
    flags.push_back(absl::StrCat("--", key, "=", kv.second.Scalar()));
  }
  if (!errors.empty()) return absl::InvalidArgumentError(errors);
  return flags;
}

absl::StatusOr<std::vector<std::string>> ExpandConfigFlag(
    int argc, char** argv, const std::vector<std::string>& known_flags) {
  std::vector<std::string> rest;
  std::string file;
  bool positional = false;  // after "--" nothing is a flag
  for (int i = 1; i < argc; ++i) {
    const std::string arg = positional ? argv[i] : DashesToUnderscores(argv[i]);
    if (positional || arg == "--") {
      positional = true;
      rest.push_back(arg);
    } else if (arg == "--config") {
      if (i + 1 >= argc) return absl::InvalidArgumentError("--config needs a file");
      file = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      file = arg.substr(9);
    } else {
      rest.push_back(arg);
    }
  }
  std::vector<std::string> out = {argv[0]};
  if (!file.empty()) {
    absl::StatusOr<std::vector<std::string>> flags = LoadDaemonFile(file, known_flags);
    if (!flags.ok()) return flags.status();
    out.insert(out.end(), flags->begin(), flags->end());
  }
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

bool ParseDaemonCommandLine(int argc, char** argv, const char* program, const char* usage,
                            const std::vector<std::string>& known_flags) {
  absl::SetProgramUsageMessage(usage);
  absl::StatusOr<std::vector<std::string>> args = ExpandConfigFlag(argc, argv, known_flags);
  if (!args.ok()) {
    std::cerr << program << ": " << args.status().message() << std::endl;
    return false;
  }
  std::vector<char*> cargs;
  for (std::string& a : *args) cargs.push_back(a.data());
  absl::ParseCommandLine(static_cast<int>(cargs.size()), cargs.data());
  return true;
}

}  // namespace spindle::config
