#include "common/config/schema.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>
#include <type_traits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/config/presets.h"
#include "common/config/units.h"
#include "common/config/yaml_values.h"
#include "common/status.h"

namespace spindle::config::schema {
namespace {

// Member accessor usable on JobSpec& (parse) and const JobSpec& (check, emit).
#define SPINDLE_MEMBER(member) \
  [](auto& s) -> auto& { return s.member; }

template <typename Get>
using MemberType = std::remove_reference_t<decltype(std::declval<Get>()(std::declval<JobSpec&>()))>;

absl::Status RangeError(const std::string& rule, const std::string& got) {
  return absl::InvalidArgumentError(absl::StrCat("must be ", rule, ", got ", got));
}

// Integers, optionally `auto` (stored as kAuto = 0). A zero value fails the
// check with unset_message when one is given (required fields).
template <typename Get>
Field Int(std::string path, Get get, int64_t min, bool allow_auto = false,
          std::string unset_message = "") {
  using T = MemberType<Get>;
  Field f;
  f.path = std::move(path);
  f.parse = [get, allow_auto](const YAML::Node& n, JobSpec& s) -> absl::Status {
    if (allow_auto && n.IsScalar() && !IsQuoted(n) && n.Scalar() == "auto") {
      get(s) = kAuto;
      return absl::OkStatus();
    }
    SPINDLE_ASSIGN_OR_RETURN(int64_t v, ReadInt(n, allow_auto ? "an integer or auto" : nullptr));
    if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) {
      return absl::InvalidArgumentError(
          absl::StrCat(v, " is out of range (at most ", std::numeric_limits<T>::max(), ")"));
    }
    get(s) = static_cast<T>(v);
    return absl::OkStatus();
  };
  f.check = [get, min, allow_auto, unset_message](const JobSpec& s) -> absl::Status {
    const int64_t v = get(s);
    if (allow_auto && v == kAuto) return absl::OkStatus();
    if (v == 0 && !unset_message.empty()) return absl::InvalidArgumentError(unset_message);
    if (v < min) {
      return RangeError(absl::StrCat(">= ", min, allow_auto ? " or auto" : ""), absl::StrCat(v));
    }
    return absl::OkStatus();
  };
  f.emit = [get, allow_auto](const JobSpec& s, YAML::Emitter& out) {
    const int64_t v = get(s);
    out << (allow_auto && v == kAuto ? std::string("auto") : absl::StrCat(v));
  };
  return f;
}

// Doubles in a range; lo/hi bounds are inclusive unless marked open.
struct Range {
  double lo;
  bool lo_open;
  double hi = std::numeric_limits<double>::infinity();
  bool hi_open = true;
  std::string Describe() const {
    if (std::isinf(hi)) return absl::StrCat(lo_open ? "> " : ">= ", FormatDouble(lo));
    return absl::StrCat("in ", lo_open ? "(" : "[", FormatDouble(lo), ", ", FormatDouble(hi),
                        hi_open ? ")" : "]");
  }
  bool Contains(double v) const {
    return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  }
};
const Range kPositive{0, true};
const Range kNonNegative{0, false};
const Range kFraction{0, false, 1, false};  // [0, 1]
const Range kBeta{0, false, 1, true};       // [0, 1)

template <typename Get>
Field Double(std::string path, Get get, Range range) {
  Field f;
  f.path = std::move(path);
  f.parse = [get](const YAML::Node& n, JobSpec& s) -> absl::Status {
    SPINDLE_ASSIGN_OR_RETURN(get(s), ReadDouble(n));
    return absl::OkStatus();
  };
  f.check = [get, range](const JobSpec& s) -> absl::Status {
    const double v = get(s);
    if (range.Contains(v)) return absl::OkStatus();
    return RangeError(range.Describe(), FormatDouble(v));
  };
  f.emit = [get](const JobSpec& s, YAML::Emitter& out) { out << FormatDouble(get(s)); };
  return f;
}

template <typename Get>
Field Bool(std::string path, Get get) {
  Field f;
  f.path = std::move(path);
  f.parse = [get](const YAML::Node& n, JobSpec& s) -> absl::Status {
    SPINDLE_ASSIGN_OR_RETURN(get(s), ReadBool(n));
    return absl::OkStatus();
  };
  f.emit = [get](const JobSpec& s, YAML::Emitter& out) { out << (get(s) ? "true" : "false"); };
  return f;
}

// check may be empty (any string, including "", is fine).
template <typename Get>
Field String(std::string path, Get get,
             std::function<absl::Status(const std::string&)> check = nullptr) {
  Field f;
  f.path = std::move(path);
  f.parse = [get](const YAML::Node& n, JobSpec& s) -> absl::Status {
    SPINDLE_ASSIGN_OR_RETURN(get(s), ReadString(n));
    return absl::OkStatus();
  };
  if (check) f.check = [get, check](const JobSpec& s) { return check(get(s)); };
  f.emit = [get](const JobSpec& s, YAML::Emitter& out) { EmitString(get(s), out); };
  return f;
}

template <typename Get>
Field Duration(std::string path, Get get, bool positive) {
  Field f;
  f.path = std::move(path);
  f.parse = [get](const YAML::Node& n, JobSpec& s) -> absl::Status {
    if (!n.IsScalar()) return TypeError("a duration such as 90s", n);
    SPINDLE_ASSIGN_OR_RETURN(get(s), ParseDuration(n.Scalar()));
    return absl::OkStatus();
  };
  f.check = [get, positive](const JobSpec& s) -> absl::Status {
    const std::chrono::milliseconds v = get(s);
    if (v.count() < 0 || (positive && v.count() == 0)) {
      return RangeError(positive ? "> 0s" : ">= 0s", absl::StrCat(v.count(), "ms"));
    }
    return absl::OkStatus();
  };
  f.emit = [get](const JobSpec& s, YAML::Emitter& out) { out << FormatDuration(get(s)); };
  return f;
}

// An enum whose value v is written names[v].
template <typename Get>
Field Enum(std::string path, Get get, std::vector<std::string> names) {
  using E = MemberType<Get>;
  Field f;
  f.path = std::move(path);
  f.parse = [get, names](const YAML::Node& n, JobSpec& s) -> absl::Status {
    SPINDLE_ASSIGN_OR_RETURN(size_t i, ReadName(n, names));
    get(s) = static_cast<E>(i);
    return absl::OkStatus();
  };
  f.check = [get, names](const JobSpec& s) -> absl::Status {
    const auto i = static_cast<size_t>(get(s));
    if (i < names.size()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("invalid enum value ", i));
  };
  f.emit = [get, names](const JobSpec& s, YAML::Emitter& out) {
    const auto i = static_cast<size_t>(get(s));
    out << (i < names.size() ? names[i] : absl::StrCat(i));
  };
  return f;
}

template <typename E, typename Get>
Field Enum(std::string path, Get get) {
  std::vector<std::string> names;
  for (const char* n : EnumNames<E>()) names.push_back(n);
  return Enum(std::move(path), get, std::move(names));
}

// apiVersion and kind: checked, not stored.
Field Constant(std::string path, const char* value) {
  Field f;
  f.path = std::move(path);
  f.required = true;
  f.parse = [value](const YAML::Node& n, JobSpec&) -> absl::Status {
    SPINDLE_ASSIGN_OR_RETURN(std::string v, ReadString(n));
    if (v == value) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("must be ", value, ", got '", v, "'"));
  };
  f.emit = [value](const JobSpec&, YAML::Emitter& out) { out << value; };
  return f;
}

absl::Status CheckDnsLabel(const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("required: a name such as my-job");
  bool ok = name.size() <= 63 && std::isalnum(static_cast<unsigned char>(name.front())) &&
            std::isalnum(static_cast<unsigned char>(name.back()));
  for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("'", name,
                   "' is not a DNS label: use at most 63 characters of a-z, 0-9 and '-', starting "
                   "and ending with a letter or digit"));
}

Field Labels() {
  Field f;
  f.path = "metadata.labels";
  f.parse = [](const YAML::Node& n, JobSpec& s) -> absl::Status {
    if (n.IsNull()) return absl::OkStatus();
    if (!n.IsMap()) return TypeError("a map of label names to strings", n);
    for (const auto& kv : n) {
      SPINDLE_ASSIGN_OR_RETURN(std::string key, ReadString(kv.first));
      auto value = ReadString(kv.second);
      if (!value.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("label ", key, ": ", value.status().message()));
      }
      if (!s.metadata.labels.emplace(key, *value).second) {
        return absl::InvalidArgumentError(absl::StrCat("label ", key, " is written twice"));
      }
    }
    return absl::OkStatus();
  };
  f.emit = [](const JobSpec& s, YAML::Emitter& out) {
    if (s.metadata.labels.empty()) out << YAML::Flow;  // `labels: {}`
    out << YAML::BeginMap;
    for (const auto& [key, value] : s.metadata.labels) {
      out << YAML::Key;
      EmitString(key, out);
      out << YAML::Value;
      EmitString(value, out);
    }
    out << YAML::EndMap;
  };
  return f;
}

// model.preset fills the architecture at once; the loader parses fields in
// table order, so the explicit model fields below it override it.
Field Preset() {
  Field f;
  f.path = "spec.model.preset";
  f.parse = [](const YAML::Node& n, JobSpec& s) -> absl::Status {
    SPINDLE_ASSIGN_OR_RETURN(std::string name, ReadString(n));
    if (name.empty()) return absl::OkStatus();
    if (!ApplyModelPreset(name, &s.model)) return UnknownName(name, ModelPresetNames());
    return absl::OkStatus();
  };
  f.check = [](const JobSpec& s) -> absl::Status {
    const auto& names = ModelPresetNames();
    if (s.model.preset.empty() ||
        std::find(names.begin(), names.end(), s.model.preset) != names.end()) {
      return absl::OkStatus();
    }
    return UnknownName(s.model.preset, names);
  };
  f.emit = [](const JobSpec& s, YAML::Emitter& out) { EmitString(s.model.preset, out); };
  return f;
}

Field Betas() {
  Field f;
  f.path = "spec.train.optimizer.betas";
  f.parse = [](const YAML::Node& n, JobSpec& s) -> absl::Status {
    if (!n.IsSequence() || n.size() != 2)
      return TypeError("a list of two numbers [beta1, beta2]", n);
    SPINDLE_ASSIGN_OR_RETURN(s.train.optimizer.beta1, ReadDouble(n[0]));
    SPINDLE_ASSIGN_OR_RETURN(s.train.optimizer.beta2, ReadDouble(n[1]));
    return absl::OkStatus();
  };
  f.check = [](const JobSpec& s) -> absl::Status {
    for (double b : {s.train.optimizer.beta1, s.train.optimizer.beta2}) {
      if (!kBeta.Contains(b)) return RangeError("two numbers in [0, 1)", FormatDouble(b));
    }
    return absl::OkStatus();
  };
  f.emit = [](const JobSpec& s, YAML::Emitter& out) {
    out << YAML::Flow << YAML::BeginSeq << FormatDouble(s.train.optimizer.beta1)
        << FormatDouble(s.train.optimizer.beta2) << YAML::EndSeq;
  };
  return f;
}

// `resume: auto | never | <path>`; a path contains '/' so that a misspelt
// mode is an error rather than a checkpoint that is never found.
Field Resume() {
  Field f;
  f.path = "spec.checkpoint.resume";
  f.parse = [](const YAML::Node& n, JobSpec& s) -> absl::Status {
    SPINDLE_ASSIGN_OR_RETURN(std::string v, ReadString(n));
    ResumeSpec& r = s.checkpoint.resume;
    r.path.clear();
    if (v == "auto") {
      r.mode = ResumeMode::kAuto;
    } else if (v == "never") {
      r.mode = ResumeMode::kNever;
    } else if (v.find('/') != std::string::npos) {
      r.mode = ResumeMode::kPath;
      r.path = v;
    } else {
      std::string hint = Closest(v, {"auto", "never"});
      return absl::InvalidArgumentError(absl::StrCat(
          "'", v, "' is not auto, never or a checkpoint path (a path contains '/', e.g. ./", v, ")",
          hint.empty() ? "" : absl::StrCat("; did you mean ", hint, "?")));
    }
    return absl::OkStatus();
  };
  f.check = [](const JobSpec& s) -> absl::Status {
    const ResumeSpec& r = s.checkpoint.resume;
    if (r.mode == ResumeMode::kPath && r.path.find('/') == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint path '", r.path, "' must contain '/' (write ./", r.path, ")"));
    }
    if (r.mode != ResumeMode::kPath && !r.path.empty()) {
      return absl::InvalidArgumentError("a path is only used with mode path");
    }
    return absl::OkStatus();
  };
  f.emit = [](const JobSpec& s, YAML::Emitter& out) {
    const ResumeSpec& r = s.checkpoint.resume;
    if (r.mode == ResumeMode::kPath) {
      EmitString(r.path, out);
    } else {
      out << EnumName(r.mode);
    }
  };
  return f;
}

std::vector<std::string> LayoutNames() {
  std::vector<std::string> names;
  for (auto k : {layout::LayoutKind::kContiguous, layout::LayoutKind::kZigzag,
                 layout::LayoutKind::kStriped}) {
    names.push_back(layout::LayoutName(k));  // index == enumerator value
  }
  return names;
}

std::vector<std::string> ScheduleNames() {
  return {layout::ScheduleName(layout::RingSchedule::kRing),
          layout::ScheduleName(layout::RingSchedule::kLightSeq)};
}

std::vector<Field> BuildFields() {
  const std::string kModelRequired = absl::StrCat(
      "required: set it or use model.preset (", absl::StrJoin(ModelPresetNames(), " | "), ")");
  std::vector<Field> f;
  f.push_back(Constant("apiVersion", kApiVersion));
  f.push_back(Constant("kind", kKind));
  f.push_back(String("metadata.name", SPINDLE_MEMBER(metadata.name), CheckDnsLabel));
  f.back().required = true;
  f.push_back(Labels());

  f.push_back(Preset());
  f.push_back(Enum<Arch>("spec.model.arch", SPINDLE_MEMBER(model.arch)));
  f.push_back(
      Int("spec.model.hidden_size", SPINDLE_MEMBER(model.hidden_size), 1, false, kModelRequired));
  f.push_back(Int("spec.model.intermediate_size", SPINDLE_MEMBER(model.intermediate_size), 1, false,
                  kModelRequired));
  f.push_back(Int("spec.model.num_hidden_layers", SPINDLE_MEMBER(model.num_hidden_layers), 1, false,
                  kModelRequired));
  f.push_back(Int("spec.model.num_attention_heads", SPINDLE_MEMBER(model.num_attention_heads), 1,
                  false, kModelRequired));
  f.push_back(Int("spec.model.num_key_value_heads", SPINDLE_MEMBER(model.num_key_value_heads), 1));
  f.push_back(
      Int("spec.model.vocab_size", SPINDLE_MEMBER(model.vocab_size), 1, false, kModelRequired));
  f.push_back(Double("spec.model.rope_theta", SPINDLE_MEMBER(model.rope_theta), kPositive));
  f.push_back(Double("spec.model.rms_norm_eps", SPINDLE_MEMBER(model.rms_norm_eps), kPositive));
  f.push_back(
      Int("spec.model.max_position_embeddings", SPINDLE_MEMBER(model.max_position_embeddings), 1));
  f.push_back(Bool("spec.model.tie_word_embeddings", SPINDLE_MEMBER(model.tie_word_embeddings)));
  f.push_back(Enum<InitFrom>("spec.model.init.from", SPINDLE_MEMBER(model.init.from)));
  f.push_back(Int("spec.model.init.seed", SPINDLE_MEMBER(model.init.seed), 0));
  f.push_back(String("spec.model.init.path", SPINDLE_MEMBER(model.init.path)));

  f.push_back(Enum<DataSource>("spec.data.source", SPINDLE_MEMBER(data.source)));
  f.back().required = true;
  f.push_back(String("spec.data.path", SPINDLE_MEMBER(data.path)));
  f.push_back(Enum<TokenDtype>("spec.data.dtype", SPINDLE_MEMBER(data.dtype)));
  f.push_back(Enum<SyntheticTask>("spec.data.task", SPINDLE_MEMBER(data.task)));
  f.push_back(Int("spec.data.seq_len", SPINDLE_MEMBER(data.seq_len), 2, false,
                  "required: tokens per sequence, >= 2"));
  f.push_back(Int("spec.data.global_batch_seqs", SPINDLE_MEMBER(data.global_batch_seqs), 1, true));
  f.push_back(Int("spec.data.micro_batch_seqs", SPINDLE_MEMBER(data.micro_batch_seqs), 1));
  f.push_back(Int("spec.data.seed", SPINDLE_MEMBER(data.seed), 0));

  f.push_back(Int("spec.parallel.dp", SPINDLE_MEMBER(parallel.dp), 1, true));
  f.push_back(Int("spec.parallel.sp.ulysses", SPINDLE_MEMBER(parallel.sp.ulysses), 1, true));
  f.push_back(Int("spec.parallel.sp.ring", SPINDLE_MEMBER(parallel.sp.ring), 1, true));
  f.push_back(Enum("spec.parallel.sp.layout", SPINDLE_MEMBER(parallel.sp.layout), LayoutNames()));
  f.push_back(
      Enum("spec.parallel.sp.schedule", SPINDLE_MEMBER(parallel.sp.schedule), ScheduleNames()));

  f.push_back(Enum<Device>("spec.resources.device", SPINDLE_MEMBER(resources.device)));
  f.push_back(Int("spec.resources.nodes.min", SPINDLE_MEMBER(resources.nodes.min), 1));
  f.push_back(Int("spec.resources.nodes.max", SPINDLE_MEMBER(resources.nodes.max), 1));
  f.push_back(
      Int("spec.resources.devices_per_node", SPINDLE_MEMBER(resources.devices_per_node), 1, true));

  f.push_back(Int("spec.train.max_steps", SPINDLE_MEMBER(train.max_steps), 0));
  f.push_back(Int("spec.train.max_tokens", SPINDLE_MEMBER(train.max_tokens), 0));
  f.push_back(Enum<Precision>("spec.train.precision", SPINDLE_MEMBER(train.precision)));
  f.push_back(Enum<ActivationCheckpointing>("spec.train.activation_checkpointing",
                                            SPINDLE_MEMBER(train.activation_checkpointing)));
  f.push_back(
      Enum<OptimizerName>("spec.train.optimizer.name", SPINDLE_MEMBER(train.optimizer.name)));
  f.push_back(Double("spec.train.optimizer.lr", SPINDLE_MEMBER(train.optimizer.lr), kPositive));
  f.push_back(Betas());
  f.push_back(Double("spec.train.optimizer.eps", SPINDLE_MEMBER(train.optimizer.eps), kPositive));
  f.push_back(Double("spec.train.optimizer.weight_decay",
                     SPINDLE_MEMBER(train.optimizer.weight_decay), kNonNegative));
  f.push_back(Bool("spec.train.optimizer.sharded", SPINDLE_MEMBER(train.optimizer.sharded)));
  f.push_back(
      Int("spec.train.schedule.warmup_steps", SPINDLE_MEMBER(train.schedule.warmup_steps), 0));
  f.push_back(Enum<LrDecay>("spec.train.schedule.decay", SPINDLE_MEMBER(train.schedule.decay)));
  f.push_back(Double("spec.train.schedule.min_lr_ratio",
                     SPINDLE_MEMBER(train.schedule.min_lr_ratio), kFraction));
  f.push_back(Double("spec.train.grad_clip", SPINDLE_MEMBER(train.grad_clip), kNonNegative));
  f.push_back(Int("spec.train.log_every_steps", SPINDLE_MEMBER(train.log_every_steps), 1));

  f.push_back(String("spec.checkpoint.dir", SPINDLE_MEMBER(checkpoint.dir),
                     [](const std::string& dir) -> absl::Status {
                       if (!dir.empty()) return absl::OkStatus();
                       return absl::InvalidArgumentError(
                           "must not be empty; leave it out for ./checkpoints/<metadata.name>");
                     }));
  f.push_back(Int("spec.checkpoint.every.steps", SPINDLE_MEMBER(checkpoint.every.steps), 0));
  f.push_back(Duration("spec.checkpoint.every.time", SPINDLE_MEMBER(checkpoint.every.time),
                       /*positive=*/false));
  f.push_back(Int("spec.checkpoint.keep_last", SPINDLE_MEMBER(checkpoint.keep_last), 1));
  f.push_back(Resume());
  f.push_back(String("spec.checkpoint.export.dir", SPINDLE_MEMBER(checkpoint.export_spec.dir)));
  f.push_back(Enum<ExportFormat>("spec.checkpoint.export.format",
                                 SPINDLE_MEMBER(checkpoint.export_spec.format)));
  f.push_back(Enum<ExportNaming>("spec.checkpoint.export.naming",
                                 SPINDLE_MEMBER(checkpoint.export_spec.naming)));

  f.push_back(
      Int("spec.fault_tolerance.max_restarts", SPINDLE_MEMBER(fault_tolerance.max_restarts), 0));
  f.push_back(Duration("spec.fault_tolerance.backoff", SPINDLE_MEMBER(fault_tolerance.backoff),
                       /*positive=*/false));
  f.push_back(Duration("spec.fault_tolerance.heartbeat.interval",
                       SPINDLE_MEMBER(fault_tolerance.heartbeat.interval), /*positive=*/true));
  f.push_back(Duration("spec.fault_tolerance.heartbeat.timeout",
                       SPINDLE_MEMBER(fault_tolerance.heartbeat.timeout), /*positive=*/true));
  f.push_back(Duration("spec.fault_tolerance.collective_timeout",
                       SPINDLE_MEMBER(fault_tolerance.collective_timeout), /*positive=*/true));
  f.push_back(Duration("spec.fault_tolerance.hang_timeout",
                       SPINDLE_MEMBER(fault_tolerance.hang_timeout), /*positive=*/true));
  return f;
}

#undef SPINDLE_MEMBER

std::string Parent(std::string_view path) {
  const size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? "" : std::string(path.substr(0, dot));
}

std::string LastKey(std::string_view path) {
  const size_t dot = path.rfind('.');
  return std::string(dot == std::string_view::npos ? path : path.substr(dot + 1));
}

// Lower case without '_' and '-': "hiddenSize" and "hidden_size" compare equal.
std::string Normalize(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '_' && c != '-') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::set<std::string> Words(std::string_view s) {
  std::set<std::string> words;
  const std::vector<std::string> parts =
      absl::StrSplit(std::string(s), absl::ByAnyChar("_-."), absl::SkipEmpty());
  for (const std::string& w : parts) words.insert(Normalize(w));
  return words;
}

// Every section and leaf path except the document itself, in table order.
const std::vector<std::string>& KnownPaths() {
  static const std::vector<std::string>* paths = [] {
    auto* out = new std::vector<std::string>;
    std::set<std::string> seen;
    for (const Field& f : Fields()) {
      std::vector<std::string> parts = absl::StrSplit(f.path, '.');
      std::string prefix;
      for (const std::string& part : parts) {
        prefix = prefix.empty() ? part : absl::StrCat(prefix, ".", part);
        if (seen.insert(prefix).second) out->push_back(prefix);
      }
    }
    return out;
  }();
  return *paths;
}

}  // namespace

const std::vector<Field>& Fields() {
  static const std::vector<Field>* fields = [] {
    auto* out = new std::vector<Field>(BuildFields());
    // emit.cc opens each section once: a section's fields must be contiguous.
    std::set<std::string> closed;
    std::string open;
    for (const Field& f : *out) {
      for (std::string p = Parent(f.path); !p.empty(); p = Parent(p)) {
        SPINDLE_CHECK(closed.count(p) == 0) << "fields of section " << p << " are not contiguous";
      }
      for (std::string p = Parent(open); !p.empty(); p = Parent(p)) {
        if (f.path.rfind(p + ".", 0) != 0) closed.insert(p);
      }
      open = f.path;
    }
    return out;
  }();
  return *fields;
}

const Field* FindField(std::string_view path) {
  for (const Field& f : Fields()) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

bool IsSection(std::string_view path) {
  if (path.empty()) return true;
  for (const Field& f : Fields()) {
    if (f.path.size() > path.size() && f.path.compare(0, path.size(), path) == 0 &&
        f.path[path.size()] == '.') {
      return true;
    }
  }
  return false;
}

std::vector<std::string> ChildKeys(std::string_view section) {
  std::vector<std::string> keys;
  for (const std::string& p : KnownPaths()) {
    if (Parent(p) == section) keys.push_back(LastKey(p));
  }
  return keys;
}

std::string DisplayPath(std::string_view path) {
  constexpr std::string_view kSpec = "spec.";
  if (path.substr(0, kSpec.size()) != kSpec) return std::string(path);
  const std::string rest(path.substr(kSpec.size()));
  // An unknown key right under spec: keeps its prefix ("spec.foo").
  const std::vector<std::string> sections = ChildKeys("spec");
  if (std::find(sections.begin(), sections.end(), rest.substr(0, rest.find('.'))) ==
      sections.end()) {
    return std::string(path);
  }
  return rest;
}

std::string FullPath(std::string_view display_path) {
  const std::string first(display_path.substr(0, display_path.find('.')));
  if (first == "apiVersion" || first == "kind" || first == "metadata" || first == "spec") {
    return std::string(display_path);
  }
  return absl::StrCat("spec.", std::string(display_path));
}

int EditDistance(std::string_view a, std::string_view b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<int>> d(n + 1, std::vector<int>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= m; ++j) d[0][j] = static_cast<int>(j);
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::string Closest(std::string_view text, const std::vector<std::string>& candidates) {
  const std::string t = Normalize(text);
  std::string best;
  int best_distance = std::max<int>(1, static_cast<int>(t.size()) / 3) + 1;
  for (const std::string& c : candidates) {
    const int d = EditDistance(t, Normalize(c));
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string Suggest(std::string_view section, std::string_view key) {
  std::string sibling = Closest(key, ChildKeys(section));
  if (!sibling.empty())
    return section.empty() ? sibling : absl::StrCat(std::string(section), ".", sibling);

  const std::string norm_key = Normalize(key);
  const std::set<std::string> key_words = Words(key);
  std::string best;
  int best_score = 0, best_distance = 0;
  for (const std::string& path : KnownPaths()) {
    const std::string last = LastKey(path);
    int score = Normalize(last) == norm_key ? 1000 : 0;
    const std::set<std::string> last_words = Words(last);
    const std::set<std::string> parent_words = Words(DisplayPath(Parent(path)));
    for (const std::string& w : key_words) {
      if (last_words.count(w)) score += static_cast<int>(w.size());
    }
    if (score == 0) continue;
    for (const std::string& w : key_words) {
      if (!last_words.count(w) && parent_words.count(w)) score += static_cast<int>(w.size());
    }
    if (score < 3) continue;
    const int distance = EditDistance(norm_key, Normalize(last));
    if (score > best_score || (score == best_score && distance < best_distance)) {
      best = path;
      best_score = score;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace spindle::config::schema
