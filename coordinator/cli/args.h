// Command-line parsing for `spindle`: one table of verbs and their flags,
// parsed into a plain Options struct, plus the help texts generated from the
// same table. No I/O: main prints what this returns. Values are checked here
// (counts, durations, state names); specs and job ids are the verbs' business.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "spindle/v1/job.pb.h"

namespace spindle::cli {

constexpr char kDefaultCoordinator[] = "127.0.0.1:7070";
constexpr char kCoordinatorEnv[] = "SPINDLE_COORDINATOR";

enum class OutputFormat { kText, kJson };

struct Options {
  std::string verb;                   // "" when none was given (main prints the usage)
  std::vector<std::string> operands;  // SPEC or JOB, as the verb's table says
  bool help = false;                  // -h/--help, or `spindle help [VERB]`

  // Global flags, accepted before or after the verb.
  std::string coordinator;  // HOST:PORT: --coordinator, else $SPINDLE_COORDINATOR, else default
  std::string token_file;   // --token-file, else $SPINDLE_TOKEN_FILE (ClientFor)
  std::string tls_ca;       // --tls-ca, else $SPINDLE_TLS_CA (ClientFor)
  OutputFormat output = OutputFormat::kText;  // -o text|json

  // Per-verb flags; a flag outside its verb's table is a usage error.
  std::vector<std::string> overrides;         // --set FIELD=VALUE, in order
  bool show_defaults = false;                 // validate
  std::string cluster;                        // plan: a cluster file = plan locally
  bool detach = false;                        // submit -d
  std::string user;                           // submit; "" = $USER, else the login name
  std::vector<spindle::v1::JobState> states;  // list --state (repeatable, comma lists)
  int limit = 0;                              // list: newest N; 0 = all
  int rank = -1;                              // logs: -1 = every rank
  int attempt = 0;                            // logs: 0 = current or last
  bool follow = false;                        // logs -f
  int tail = 0;                               // logs: last N lines; 0 = all
  std::string reason;                         // cancel
  std::chrono::milliseconds timeout{0};       // wait: 0 = no limit
};

// args: argv without the program name. env_coordinator: the value of
// $SPINDLE_COORDINATOR ("" when unset). InvalidArgument for every usage error,
// "spindle VERB: <problem>" with a did-you-mean where one is close.
absl::StatusOr<Options> ParseArgs(absl::Span<const std::string> args,
                                  absl::string_view env_coordinator);

// The overall usage: verbs, global flags, exit codes.
std::string Usage();
// One verb's usage with its flags; "" for an unknown verb.
std::string VerbUsage(absl::string_view verb);

// The closest of `candidates` to `word` within a small edit distance, or "".
std::string DidYouMean(absl::string_view word, absl::Span<const std::string> candidates);

}  // namespace spindle::cli
