// Checks of a whole JobSpec: every field's own range (the schema table) and
// the rules between fields (head counts, batch divisibility, data source vs
// path, layout vs schedule, timeouts). ParseJobSpec runs it; a spec built in
// code should run FillDefaults (load.h) and then this. Degrees left `auto`
// are checked when ResolveParallel (resolve.h) picks them.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/config/job_spec.h"

namespace spindle::config {

struct FieldError {
  std::string path;     // as written in errors: "parallel.sp.ulysses", "metadata.name"
  std::string message;  // the problem and how to fix it
};

// Every problem, in schema order: per-field ranges first, then cross-field
// rules. Empty when the spec is valid.
std::vector<FieldError> CheckJobSpec(const JobSpec& spec);

// OK, or InvalidArgument with one "<path>: <message>" line per problem.
absl::Status ValidateJobSpec(const JobSpec& spec);

}  // namespace spindle::config
