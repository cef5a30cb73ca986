// Helpers shared by the verbs that send a spec: reading the file into the
// API's SpecSource, and checking it locally first so an invalid spec fails
// without a coordinator (the coordinator checks again with the same code).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/config/job_spec.h"
#include "coordinator/cli/args.h"
#include "spindle/v1/job.pb.h"

namespace spindle::cli {

struct LocalSpec {
  config::JobSpec spec;            // parsed, defaults filled, validated
  spindle::v1::SpecSource source;  // what goes on the wire
};

// o.operands[0] read and parsed with o.overrides; working_dir = the current
// directory. NotFound when the file cannot be read, InvalidArgument with one
// line per problem otherwise.
absl::StatusOr<LocalSpec> LoadLocalSpec(const Options& o);

}  // namespace spindle::cli
