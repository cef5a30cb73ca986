// spindle: the command line of Spindle (docs/cli.md). Parses the arguments
// and runs one verb; the exit code says how it went (exit_codes.h).
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "coordinator/cli/args.h"
#include "coordinator/cli/exit_codes.h"
#include "coordinator/cli/verbs.h"

namespace spindle::cli {
namespace {

using VerbFn = int (*)(const Options&, Io&);

VerbFn FindVerbFn(const std::string& verb) {
  static const std::pair<const char*, VerbFn> kVerbs[] = {
      {"validate", RunValidate}, {"plan", RunPlan}, {"submit", RunSubmit},
      {"status", RunStatus},     {"list", RunList}, {"watch", RunWatch},
      {"events", RunEvents},
      {"wait", RunWait},         {"logs", RunLogs}, {"cancel", RunCancel},
      {"workers", RunWorkers},
  };
  for (const auto& [name, fn] : kVerbs) {
    if (verb == name) return fn;
  }
  return nullptr;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const char* env = std::getenv(kCoordinatorEnv);
  absl::StatusOr<Options> options = ParseArgs(args, env != nullptr ? env : "");
  if (!options.ok()) {
    std::cerr << options.status().message() << "\n";
    return kExitInvalid;
  }
  if (options->help) {
    std::cout << (options->verb.empty() ? Usage() : VerbUsage(options->verb));
    return kExitOk;
  }
  VerbFn fn = FindVerbFn(options->verb);
  if (fn == nullptr) {
    std::cerr << Usage();
    return kExitInvalid;
  }
  Io io{std::cout, std::cerr, isatty(STDOUT_FILENO) == 1, absl::LocalTimeZone()};
  return fn(*options, io);
}

}  // namespace
}  // namespace spindle::cli

int main(int argc, char** argv) { return spindle::cli::Main(argc, argv); }
