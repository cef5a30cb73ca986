#include "common/config/confine.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace spindle::config {
namespace {

namespace fs = std::filesystem;

fs::path Resolve(const fs::path& p) {
  std::error_code ec;
  fs::path r = fs::weakly_canonical(p, ec);
  return ec ? p.lexically_normal() : r;
}

// Component-wise: /data/a is inside /data, /data-evil is not.
bool Inside(const fs::path& path, const fs::path& root) {
  auto p = path.begin(), r = root.begin();
  for (; r != root.end(); ++r, ++p) {
    if (r->empty()) continue;  // a trailing separator
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

}  // namespace

std::vector<JobPath> PathsOf(const JobSpec& spec) {
  std::vector<JobPath> out;
  auto add = [&](const char* field, const std::string& path) {
    if (!path.empty()) out.push_back({field, path});
  };
  add("model.init.path", spec.model.init.path);
  add("data.path", spec.data.path);
  add("checkpoint.dir", spec.checkpoint.dir);
  add("checkpoint.resume", spec.checkpoint.resume.path);
  add("checkpoint.export.dir", spec.checkpoint.export_spec.dir);
  return out;
}

absl::Status ConfineJobPaths(const JobSpec& spec, const std::string& base_dir,
                             const std::vector<std::string>& roots) {
  if (roots.empty()) return absl::OkStatus();
  std::vector<fs::path> resolved_roots;
  for (const std::string& r : roots) resolved_roots.push_back(Resolve(fs::absolute(r)));
  const std::string allowed = absl::StrJoin(roots, ", ");
  auto inside_any = [&](const fs::path& p) {
    for (const fs::path& r : resolved_roots) {
      if (Inside(p, r)) return true;
    }
    return false;
  };
  if (base_dir.empty() || !fs::path(base_dir).is_absolute()) {
    return absl::InvalidArgumentError(
        "the job has no absolute submit directory; this coordinator confines jobs to " + allowed +
        ", submit from a directory inside one of them");
  }
  const fs::path base = Resolve(base_dir);
  if (!inside_any(base)) {
    return absl::InvalidArgumentError(
        absl::StrCat("submit directory ", base.string(), " is outside the job roots (", allowed,
                     "); submit from a directory inside one of them"));
  }
  std::string errors;
  for (const JobPath& p : PathsOf(spec)) {
    const fs::path resolved = Resolve(base / p.path);
    if (inside_any(resolved)) continue;
    absl::StrAppend(&errors, errors.empty() ? "" : "\n", p.field, ": ", p.path, " resolves to ",
                    resolved.string(), ", outside the job roots (", allowed,
                    "); use a path inside one of them");
  }
  if (!errors.empty()) return absl::InvalidArgumentError(errors);
  return absl::OkStatus();
}

}  // namespace spindle::config
