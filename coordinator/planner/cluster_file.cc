#include "coordinator/planner/cluster_file.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config/schema.h"
#include "common/config/units.h"
#include "common/config/yaml_values.h"
#include "yaml-cpp/yaml.h"

namespace spindle::planner {
namespace {

namespace schema = config::schema;

const std::vector<std::string> kTopKeys = {"apiVersion", "kind", "nodes"};
const std::vector<std::string> kNodeKeys = {"name",
                                            "count",
                                            "host",
                                            "device",
                                            "devices",
                                            "device_name",
                                            "device_memory",
                                            "peak_tflops",
                                            "intra_node_bandwidth",
                                            "inter_node_bandwidth"};
const std::vector<std::string> kPeakKeys = {"bf16", "fp32"};

using Errors = config::schema::LocatedErrors;

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : absl::StrCat(path, ".", key);
}

// Reports unknown and duplicate keys of a map; false when `map` is no map.
bool CheckKeys(const YAML::Node& map, const std::string& path,
               const std::vector<std::string>& known, Errors& errors) {
  if (!map.IsMap()) {
    errors.Add(map.Mark(), path,
               absl::StrCat("expected a map with ", absl::StrJoin(known, ", "), "; got ",
                            schema::Describe(map)));
    return false;
  }
  // Keys not written come first: "devics" next to `device:` means devices.
  std::vector<std::string> unwritten;
  for (const std::string& k : known) {
    if (!map[k]) unwritten.push_back(k);
  }
  std::set<std::string> seen;
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    if (!seen.insert(key).second) {
      errors.Add(kv.first.Mark(), Join(path, key), "duplicate field; it is already set above");
    } else if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string hint = schema::Closest(key, unwritten);
      if (hint.empty()) hint = schema::Closest(key, known);
      errors.Add(kv.first.Mark(), Join(path, key),
                 hint.empty()
                     ? absl::StrCat("unknown field; ", path.empty() ? "the file" : path, " has ",
                                    absl::StrJoin(known, ", "))
                     : absl::StrCat("unknown field; did you mean ", Join(path, hint), "?"));
    }
  }
  return true;
}

// Reads map[key] with read(); a missing key is an error when required.
// Returns false when the value is missing or bad (the error is recorded).
template <typename T, typename Read>
bool Get(const YAML::Node& map, const std::string& path, const std::string& key, bool required,
         Read read, T* out, Errors& errors) {
  const YAML::Node value = map[key];
  if (!value) {
    if (required) errors.Add(map.Mark(), Join(path, key), "required field is missing");
    return false;
  }
  absl::StatusOr<T> v = read(value);
  if (!v.ok()) {
    errors.Add(value.Mark(), Join(path, key), std::string(v.status().message()));
    return false;
  }
  *out = *v;
  return true;
}

auto IntAtLeast(int64_t min, int64_t max) {
  return [min, max](const YAML::Node& n) -> absl::StatusOr<int64_t> {
    absl::StatusOr<int64_t> v = schema::ReadInt(n);
    if (!v.ok()) return v;
    if (*v < min || *v > max) {
      return absl::InvalidArgumentError(
          absl::StrCat("must be in [", min, ", ", max, "], got ", *v));
    }
    return v;
  };
}

absl::StatusOr<double> ReadPositiveBandwidth(const YAML::Node& n) {
  if (!n.IsScalar()) return schema::TypeError("a bandwidth such as 450GB/s", n);
  return ParseBandwidth(n.Scalar());
}

absl::StatusOr<int64_t> ReadMemory(const YAML::Node& n) {
  if (!n.IsScalar()) return schema::TypeError("a byte size such as 80Gi", n);
  absl::StatusOr<int64_t> v = ParseMemorySize(n.Scalar());
  if (v.ok() && *v <= 0) return absl::InvalidArgumentError("must be > 0");
  return v;
}

auto TeraFlops(bool positive) {
  return [positive](const YAML::Node& n) -> absl::StatusOr<double> {
    absl::StatusOr<double> v = schema::ReadDouble(n);
    if (!v.ok()) return v;
    if (*v < 0 || (positive && *v == 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("must be ", positive ? "> 0" : ">= 0", " TFLOP/s, got ", n.Scalar()));
    }
    return *v * 1e12;
  };
}

absl::StatusOr<std::string> ReadWorkerName(const YAML::Node& n) {
  absl::StatusOr<std::string> v = schema::ReadString(n);
  if (!v.ok()) return v;
  bool ok = !v->empty();
  for (char c : *v)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", *v, "' is not a worker id: use letters, digits, '-', '_' and '.'"));
  }
  return v;
}

// gpu-a.example, index 0 -> gpu-a-0.example.
std::string IndexedHost(const std::string& host, int i) {
  const size_t dot = host.find('.');
  if (dot == std::string::npos) return absl::StrCat(host, "-", i);
  return absl::StrCat(host.substr(0, dot), "-", i, host.substr(dot));
}

void ParseNode(const YAML::Node& n, const std::string& path, Inventory* inventory,
               std::map<std::string, std::string>* owners, Errors& errors) {
  if (!CheckKeys(n, path, kNodeKeys, errors)) return;
  std::string name, host, device_name;
  int64_t count = 1, devices = 0, memory = 0;
  double intra = 0, inter = 0, bf16 = 0, fp32 = 0;
  size_t kind = 0;
  std::vector<std::string> kinds;
  for (const char* k : config::EnumNames<config::Device>()) kinds.push_back(k);
  bool ok = Get(n, path, "name", true, ReadWorkerName, &name, errors);
  ok &= !n["count"] || Get(n, path, "count", false, IntAtLeast(1, 4096), &count, errors);
  ok &= !n["host"] || Get(n, path, "host", false, schema::ReadString, &host, errors);
  ok &= Get(
      n, path, "device", true, [&](const YAML::Node& v) { return schema::ReadName(v, kinds); },
      &kind, errors);
  ok &= Get(n, path, "devices", true, IntAtLeast(1, 1024), &devices, errors);
  ok &= !n["device_name"] ||
        Get(n, path, "device_name", false, schema::ReadString, &device_name, errors);
  ok &= Get(n, path, "device_memory", true, ReadMemory, &memory, errors);
  ok &= Get(n, path, "intra_node_bandwidth", true, ReadPositiveBandwidth, &intra, errors);
  ok &= Get(n, path, "inter_node_bandwidth", true, ReadPositiveBandwidth, &inter, errors);
  const std::string peak_path = Join(path, "peak_tflops");
  const YAML::Node peak = n["peak_tflops"];
  if (!peak) {
    errors.Add(n.Mark(), peak_path, "required field is missing");
    ok = false;
  } else if (!CheckKeys(peak, peak_path, kPeakKeys, errors)) {
    ok = false;
  } else {
    ok &= Get(peak, peak_path, "fp32", true, TeraFlops(true), &fp32, errors);
    ok &= !peak["bf16"] || Get(peak, peak_path, "bf16", false, TeraFlops(false), &bf16, errors);
  }
  if (!ok) return;

  NodeInfo node;
  node.kind = static_cast<config::Device>(kind);
  node.intra_node_bandwidth = intra;
  node.inter_node_bandwidth = inter;
  for (int d = 0; d < devices; ++d) {
    DeviceInfo info;
    info.index = d;
    info.name = device_name.empty() ? kinds[kind] : device_name;
    info.memory_bytes = memory;
    info.peak_flops_fp32 = fp32;
    info.peak_flops_bf16 = bf16;
    node.devices.push_back(info);
  }
  for (int i = 0; i < count; ++i) {
    node.worker = count == 1 ? name : absl::StrCat(name, "-", i);
    node.host = host.empty() ? node.worker : count == 1 ? host : IndexedHost(host, i);
    auto [it, inserted] = owners->emplace(node.worker, path);
    if (!inserted) {
      errors.Add(n["name"].Mark(), Join(path, "name"),
                 absl::StrCat("worker id ", node.worker, " is already used by ", it->second));
      return;
    }
    inventory->nodes.push_back(node);
  }
}

// "450GB/s" -> {"450", "GB"}; "25e9" -> {"25e9", ""}.
bool SplitRate(std::string_view text, std::string* number, std::string* unit) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  *number = std::string(text.substr(0, i));
  std::string rest(text.substr(i));
  if (rest.empty()) return true;
  if (rest.size() < 3 || rest.substr(rest.size() - 2) != "/s") return false;
  *unit = rest.substr(0, rest.size() - 2);
  return true;
}

}  // namespace

absl::StatusOr<double> ParseBandwidth(std::string_view text) {
  const auto bad = absl::InvalidArgumentError(absl::StrCat(
      "'", std::string(text),
      "' is not a bandwidth; write e.g. 450GB/s, 50GiB/s, 400Gb/s or 25e9 (bytes per second)"));
  double plain = 0;
  if (absl::SimpleAtod(std::string(text), &plain)) {
    if (!std::isfinite(plain) || plain <= 0) return bad;
    return plain;
  }
  std::string number, unit;
  double value = 0;
  if (!SplitRate(text, &number, &unit) || unit.empty() || !absl::SimpleAtod(number, &value)) {
    return bad;
  }
  static const std::pair<const char*, double> kUnits[] = {{"B", 1},
                                                          {"kB", 1e3},
                                                          {"KB", 1e3},
                                                          {"MB", 1e6},
                                                          {"GB", 1e9},
                                                          {"TB", 1e12},
                                                          {"KiB", 1024.0},
                                                          {"MiB", 1048576.0},
                                                          {"GiB", 1073741824.0},
                                                          {"TiB", 1099511627776.0},
                                                          {"b", 1.0 / 8},
                                                          {"kb", 1e3 / 8},
                                                          {"Kb", 1e3 / 8},
                                                          {"Mb", 1e6 / 8},
                                                          {"Gb", 1e9 / 8},
                                                          {"Tb", 1e12 / 8},
                                                          {"Gbit", 1e9 / 8},
                                                          {"Mbit", 1e6 / 8}};
  for (const auto& [name, scale] : kUnits) {
    if (unit != name) continue;
    if (value <= 0) return bad;
    return value * scale;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "'", std::string(text), "' has unknown unit '", unit,
      "/s'; use B, kB, MB, GB, TB, KiB, MiB, GiB, TiB (bytes) or Mb, Gb (bits) per second"));
}

absl::StatusOr<int64_t> ParseMemorySize(std::string_view text) {
  // "80GB" and "141GiB" read as config's "80G" and "141Gi".
  if (text.size() > 1 && text.back() == 'B') text.remove_suffix(1);
  return config::ParseByteSize(text);
}

absl::StatusOr<Inventory> ParseClusterFile(std::string_view yaml_text, std::string_view source) {
  Errors errors{std::string(source)};
  absl::StatusOr<YAML::Node> loaded = config::schema::LoadYaml(yaml_text, source);
  if (!loaded.ok()) return loaded.status();
  YAML::Node root = *loaded;
  // Const access only: operator[] on a non-const node inserts missing keys.
  const YAML::Node& file = root;
  Inventory inventory;
  try {
    if (!CheckKeys(file, "", kTopKeys, errors)) return errors.ToStatus();
    for (const auto& [key, want] :
         {std::pair<std::string, std::string>{"apiVersion", "spindle/v1"}, {"kind", "Cluster"}}) {
      std::string got;
      if (Get(file, "", key, true, schema::ReadString, &got, errors) && got != want) {
        errors.Add(file[key].Mark(), key, absl::StrCat("must be ", want, ", got '", got, "'"));
      }
    }
    const YAML::Node nodes = file["nodes"];
    if (!nodes) {
      errors.Add(file.Mark(), "nodes", "required field is missing");
    } else if (!nodes.IsSequence() || nodes.size() == 0) {
      errors.Add(nodes.Mark(), "nodes",
                 absl::StrCat("expected a non-empty list of nodes, got ", schema::Describe(nodes)));
    } else {
      std::map<std::string, std::string> owners;
      for (size_t i = 0; i < nodes.size(); ++i) {
        ParseNode(nodes[i], absl::StrCat("nodes[", i, "]"), &inventory, &owners, errors);
      }
    }
  } catch (const YAML::Exception& e) {  // not expected: types are checked before access
    errors.Add(e.mark, "", absl::StrCat("unexpected YAML error: ", e.msg));
  }
  if (!errors.empty()) return errors.ToStatus();
  return inventory;
}

absl::StatusOr<Inventory> LoadClusterFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read cluster file ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading cluster file ", path));
  return ParseClusterFile(text.str(), path);
}

}  // namespace spindle::planner
