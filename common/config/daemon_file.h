// Daemon configuration files: a flat YAML map whose keys are the daemon's
// flag names (without "--"), turned into flags that come before the command
// line's, so a flag given on the command line wins over the file.
//
//   # coordinator.yaml
//   listen: 0.0.0.0:7070
//   state_dir: /var/lib/spindle
//   worker_lease: 15s
//
// Strict like job specs: unknown keys are errors with a did-you-mean, and
// values must be scalars; errors read "<file>:<line>:<col>: <key>: <problem>".
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spindle::config {

// known_flags: the flag names the daemon accepts. Returns "--key=value" items.
absl::StatusOr<std::vector<std::string>> LoadDaemonFile(const std::string& path,
                                                        const std::vector<std::string>& known_flags);

// Finds "--config FILE" / "--config=FILE" in argv and returns argv with the
// file's flags inserted after argv[0] (and --config removed), or the error.
absl::StatusOr<std::vector<std::string>> ExpandConfigFlag(int argc, char** argv,
                                                          const std::vector<std::string>& known_flags);

// A daemon's command line: sets absl's usage message, expands --config and
// parses every flag. False after printing "<program>: <error>" to stderr
// (the caller exits with 2).
bool ParseDaemonCommandLine(int argc, char** argv, const char* program, const char* usage,
                            const std::vector<std::string>& known_flags);

}  // namespace spindle::config
