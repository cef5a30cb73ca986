// JobSpec -> canonical YAML: every field, in schema order, with units
// ("30s") and `auto` written out (`spindle validate --show-defaults`). For a
// spec that ParseJobSpec returned, ParseJobSpec(EmitJobSpec(s)) == s. Parsing
// is load.h.
#pragma once

#include <string>

#include "common/config/job_spec.h"

namespace spindle::config {

std::string EmitJobSpec(const JobSpec& spec);

}  // namespace spindle::config
