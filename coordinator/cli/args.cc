#include "coordinator/cli/args.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/config/units.h"

namespace spindle::cli {
namespace {

using Apply = std::function<absl::Status(absl::string_view value, Options*)>;

struct Flag {
  std::string name;   // "--set"
  std::string alias;  // "-d", or ""
  std::string value;  // placeholder for the help ("F=V"); "" = a switch
  std::string help;
  Apply apply;
};

struct Verb {
  std::string name;
  std::string operand;  // "SPEC", "JOB" or "" (none)
  std::string summary;
  std::vector<std::string> flags;  // names in FlagTable(), besides the global ones
};

Apply SetString(std::string Options::*field) {
  return [field](absl::string_view v, Options* o) {
    o->*field = std::string(v);
    return absl::OkStatus();
  };
}

Apply SetTrue(bool Options::*field) {
  return [field](absl::string_view, Options* o) {
    o->*field = true;
    return absl::OkStatus();
  };
}

Apply SetCount(const char* flag, int Options::*field, int min) {
  return [=](absl::string_view v, Options* o) {
    int n = 0;
    if (!absl::SimpleAtoi(v, &n) || n < min) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " ", v, ": expected a whole number >= ", min));
    }
    o->*field = n;
    return absl::OkStatus();
  };
}

absl::Status ParseOutput(absl::string_view v, Options* o) {
  if (v == "text") {
    o->output = OutputFormat::kText;
  } else if (v == "json") {
    o->output = OutputFormat::kJson;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("-o ", v, ": use text or json"));
  }
  return absl::OkStatus();
}

absl::Status ParseOverride(absl::string_view v, Options* o) {
  size_t eq = v.find('=');
  if (eq == absl::string_view::npos || eq == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--set ", v, ": expected FIELD=VALUE, e.g. train.max_steps=10"));
  }
  o->overrides.emplace_back(v);
  return absl::OkStatus();
}

absl::Status ParseStates(absl::string_view value, Options* o) {
  for (absl::string_view name : absl::StrSplit(value, ',', absl::SkipEmpty())) {
    spindle::v1::JobState state;
    std::string upper = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(name));
    if (upper == "JOB_STATE_UNSPECIFIED" || !spindle::v1::JobState_Parse(upper, &state)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--state ", name,
          ": not a job state; use queued, planning, running, restarting, succeeded, failed "
          "or cancelled"));
    }
    o->states.push_back(state);
  }
  return absl::OkStatus();
}

absl::Status ParseTimeout(absl::string_view v, Options* o) {
  absl::StatusOr<std::chrono::milliseconds> d =
      config::ParseDuration(std::string_view(v.data(), v.size()));
  if (!d.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--timeout ", v, ": ", d.status().message()));
  }
  o->timeout = *d;
  return absl::OkStatus();
}

// clang-format off
const std::vector<Flag>& FlagTable() {
  static const auto* table = new std::vector<Flag>{
      {"--coordinator", "", "HOST:PORT",
       "default $SPINDLE_COORDINATOR, else 127.0.0.1:7070",
       SetString(&Options::coordinator)},
      {"--token-file", "", "FILE", "the cluster's bearer token (default $SPINDLE_TOKEN_FILE)",
       SetString(&Options::token_file)},
      {"--tls-ca", "", "FILE", "verify the coordinator's TLS certificate against this CA "
       "(default $SPINDLE_TLS_CA)", SetString(&Options::tls_ca)},
      {"--output", "-o", "text|json", "output format (json: the API's messages)", ParseOutput},
      {"--help", "-h", "", "show this help", SetTrue(&Options::help)},
      {"--set", "", "FIELD=VALUE", "override a spec field (train.max_steps=10); repeatable",
       ParseOverride},
      {"--show-defaults", "", "", "print the effective spec with every default filled in",
       SetTrue(&Options::show_defaults)},
      {"--cluster", "", "CLUSTER.yaml", "plan locally against this cluster file (no coordinator)",
       SetString(&Options::cluster)},
      {"--detach", "-d", "", "return after submitting instead of following the job",
       SetTrue(&Options::detach)},
      {"--user", "", "USER", "submit as this user (default $USER, else the login name)",
       SetString(&Options::user)},
      {"--state", "", "STATE", "only jobs in this state; repeatable or comma-separated",
       ParseStates},
      {"--limit", "", "N", "only the newest N jobs", SetCount("--limit", &Options::limit, 0)},
      {"--rank", "", "R", "one rank's log (default: every rank, lines prefixed [rank N])",
       SetCount("--rank", &Options::rank, 0)},
      {"--attempt", "", "A", "that attempt's logs (default: the current or last)",
       SetCount("--attempt", &Options::attempt, 1)},
      {"--follow", "-f", "", "keep streaming until the attempt ends", SetTrue(&Options::follow)},
      {"--tail", "", "N", "only the last N lines", SetCount("--tail", &Options::tail, 1)},
      {"--reason", "", "TEXT", "why, recorded as the job's message", SetString(&Options::reason)},
      {"--timeout", "", "DURATION", "give up after this long (90s, 10m, 2h): exit 1",
       ParseTimeout},
  };
  return *table;
}
// clang-format on

const std::vector<std::string> kGlobalFlags = {"--coordinator", "--token-file", "--tls-ca",
                                               "--output", "--help"};

const std::vector<Verb>& VerbTable() {
  // clang-format off
  static const auto* table = new std::vector<Verb>{
      {"validate", "SPEC", "parse and check a job spec locally (no coordinator)",
       {"--set", "--show-defaults"}},
      {"plan", "SPEC", "show how the job would be cut up and placed (dry run)",
       {"--set", "--cluster"}},
      {"submit", "SPEC", "submit a job and follow it to the end (unless -d)",
       {"--set", "--detach", "--user"}},
      {"status", "JOB", "one job: state, attempt, progress, plan, checkpoint, root cause", {}},
      {"list", "", "jobs, newest first", {"--state", "--limit"}},
      {"watch", "JOB", "follow a job's events and progress until it ends", {}},
      {"events", "JOB", "the job's event timeline: states, attempts, failures, checkpoints", {}},
      {"logs", "JOB", "rank logs of a job", {"--rank", "--attempt", "--follow", "--tail"}},
      {"cancel", "JOB", "stop a job", {"--reason"}},
      {"wait", "JOB", "block until the job ends; the exit code mirrors its state", {"--timeout"}},
      {"workers", "", "worker daemons, their devices and what runs on them", {}},
  };
  // clang-format on
  return *table;
}

const Verb* FindVerb(absl::string_view name) {
  for (const Verb& v : VerbTable()) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

const Flag* FindFlag(absl::string_view name_or_alias) {
  for (const Flag& f : FlagTable()) {
    if (f.name == name_or_alias || (!f.alias.empty() && f.alias == name_or_alias)) return &f;
  }
  return nullptr;
}

// The flags `verb` accepts (nullptr = before the verb: globals only).
std::vector<std::string> AllowedFlags(const Verb* verb) {
  std::vector<std::string> allowed = kGlobalFlags;
  if (verb != nullptr) allowed.insert(allowed.end(), verb->flags.begin(), verb->flags.end());
  return allowed;
}

std::string FlagLine(const Flag& f) {
  std::string left =
      f.alias.empty() ? absl::StrCat("    ", f.name) : absl::StrCat("  ", f.alias, ", ", f.name);
  if (!f.value.empty()) absl::StrAppend(&left, " ", f.value);
  left.resize(std::max<size_t>(left.size() + 2, 30), ' ');
  return absl::StrCat(left, f.help, "\n");
}

absl::Status UsageError(const Verb* verb, absl::string_view problem) {
  std::string where = verb == nullptr ? "spindle" : absl::StrCat("spindle ", verb->name);
  std::string help = verb == nullptr ? "spindle --help" : absl::StrCat(where, " --help");
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", problem, " (see ", help, ")"));
}

absl::Status UnknownVerb(absl::string_view word) {
  std::vector<std::string> names;
  for (const Verb& v : VerbTable()) names.push_back(v.name);
  std::string hint = DidYouMean(word, names);
  return UsageError(nullptr, absl::StrCat("unknown verb '", word, "'",
                                          hint.empty() ? "" : "; did you mean " + hint + "?"));
}

absl::Status UnknownFlag(const Verb* verb, absl::string_view flag) {
  if (FindFlag(flag) != nullptr) {
    std::vector<std::string> owners;
    for (const Verb& v : VerbTable()) {
      const Flag* f = FindFlag(flag);
      if (std::find(v.flags.begin(), v.flags.end(), f->name) != v.flags.end()) {
        owners.push_back(v.name);
      }
    }
    return UsageError(verb, absl::StrCat(flag, " is a flag of `spindle ",
                                         absl::StrJoin(owners, "`, `spindle "), "` only"));
  }
  std::string hint = DidYouMean(flag, AllowedFlags(verb));
  return UsageError(verb,
                    absl::StrCat("unknown flag ", flag,
                                 hint.empty() ? "" : absl::StrCat("; did you mean ", hint, "?")));
}

}  // namespace

absl::StatusOr<Options> ParseArgs(absl::Span<const std::string> args,
                                  absl::string_view env_coordinator) {
  Options o;
  o.coordinator = env_coordinator.empty() ? kDefaultCoordinator : std::string(env_coordinator);
  const Verb* verb = nullptr;
  bool flags_done = false;  // after "--" every word is an operand
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      if (o.verb.empty()) {
        o.verb = std::string(arg);
        if (o.verb == "help") continue;
        verb = FindVerb(arg);
        if (verb == nullptr) return UnknownVerb(arg);
      } else {
        o.operands.emplace_back(arg);
      }
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    absl::string_view name = arg;
    std::optional<absl::string_view> inline_value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos && arg.rfind("--", 0) == 0) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    } else if (arg.size() > 2 && arg[1] != '-' && FindFlag(arg.substr(0, 2)) != nullptr &&
               !FindFlag(arg.substr(0, 2))->value.empty()) {
      name = arg.substr(0, 2);  // -ojson
      inline_value = arg.substr(2);
    }
    const Flag* flag = FindFlag(name);
    std::vector<std::string> allowed = AllowedFlags(verb);
    if (flag == nullptr || std::find(allowed.begin(), allowed.end(), flag->name) == allowed.end()) {
      return UnknownFlag(verb, name);
    }
    absl::string_view value;
    if (flag->value.empty()) {
      if (inline_value) return UsageError(verb, absl::StrCat(flag->name, " takes no value"));
    } else if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return UsageError(verb, absl::StrCat(name, " needs a value: ", name, " ", flag->value));
    }
    if (absl::Status s = flag->apply(value, &o); !s.ok()) return UsageError(verb, s.message());
  }

  if (o.verb == "help") {
    o.help = true;
    if (o.operands.size() > 1) return UsageError(nullptr, "help takes at most one verb");
    if (!o.operands.empty()) {
      if (FindVerb(o.operands[0]) == nullptr) return UnknownVerb(o.operands[0]);
      o.verb = o.operands[0];
    } else {
      o.verb.clear();
    }
    o.operands.clear();
    return o;
  }
  if (o.help || verb == nullptr) return o;
  size_t want = verb->operand.empty() ? 0 : 1;
  if (o.operands.size() < want) {
    return UsageError(verb, absl::StrCat("missing ", verb->operand, ": spindle ", verb->name, " ",
                                         verb->operand));
  }
  if (o.operands.size() > want) {
    return UsageError(verb, absl::StrCat("unexpected argument '", o.operands[want], "'"));
  }
  if (o.coordinator.empty()) return UsageError(verb, "--coordinator is empty; use HOST:PORT");
  return o;
}

std::string Usage() {
  std::string out =
      "usage: spindle VERB [ARGS] [FLAGS]\n\n"
      "Trains Llama-family models with sequence parallelism on a spindle-coordinator.\n\n"
      "verbs:\n";
  for (const Verb& v : VerbTable()) {
    std::string left = absl::StrCat("  ", v.name, " ", v.operand);
    left.resize(std::max<size_t>(left.size() + 2, 18), ' ');
    absl::StrAppend(&out, left, v.summary, "\n");
  }
  absl::StrAppend(&out, "\nglobal flags (every verb):\n");
  for (const std::string& name : kGlobalFlags) absl::StrAppend(&out, FlagLine(*FindFlag(name)));
  absl::StrAppend(&out,
                  "\nexit codes: 0 ok, 1 other error (job not found, wait timed out), 2 invalid "
                  "spec or usage\n(incl. infeasible plan), 3 job failed, 4 job cancelled, 5 "
                  "coordinator unreachable or\nunauthorised.\n\n"
                  "`spindle VERB --help` shows a verb's flags.\n");
  return out;
}

std::string VerbUsage(absl::string_view name) {
  const Verb* v = FindVerb(name);
  if (v == nullptr) return "";
  std::string out =
      absl::StrCat("usage: spindle ", v->name, v->operand.empty() ? "" : " ", v->operand,
                   v->flags.empty() ? "" : " [FLAGS]", "\n\n", v->summary, "\n");
  if (!v->flags.empty()) {
    absl::StrAppend(&out, "\nflags:\n");
    for (const std::string& f : v->flags) absl::StrAppend(&out, FlagLine(*FindFlag(f)));
  }
  absl::StrAppend(&out, "\nglobal flags:\n");
  for (const std::string& f : kGlobalFlags) absl::StrAppend(&out, FlagLine(*FindFlag(f)));
  return out;
}

std::string DidYouMean(absl::string_view word, absl::Span<const std::string> candidates) {
  // Levenshtein distance, one row at a time.
  auto distance = [](absl::string_view a, absl::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
        diagonal = up;
      }
    }
    return row[b.size()];
  };
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const std::string& c : candidates) {
    size_t d = distance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace spindle::cli
