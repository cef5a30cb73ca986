// Where a job may touch the filesystem. A coordinator started with
// --job_roots accepts a job only when its submit directory and every path
// its spec names (data.path, model.init.path, checkpoint.dir,
// checkpoint.resume path, checkpoint.export.dir) lie inside one of the roots,
// so a job cannot read /etc/shadow as data or write outside the directories
// the operator set aside. Relative paths resolve against the submit
// directory, as the ranks will resolve them.
//
// Paths are compared after resolving ".", ".." and every symbolic link of
// the part that exists (std::filesystem::weakly_canonical), so a link inside
// a root that points outside does not escape; this reads the filesystem.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/config/job_spec.h"

namespace spindle::config {

struct JobPath {
  std::string field;  // "data.path"
  std::string path;   // as written
};

// The filesystem paths the spec names, in field order; empty ones left out.
std::vector<JobPath> PathsOf(const JobSpec& spec);

// OK when roots is empty, else when base_dir (absolute) and every path of
// the spec resolve inside a root. Errors: InvalidArgument naming each field,
// its resolved path and the roots, and how to fix it.
absl::Status ConfineJobPaths(const JobSpec& spec, const std::string& base_dir,
                             const std::vector<std::string>& roots);

}  // namespace spindle::config
