#include "coordinator/cli/verb_common.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/config/load.h"
#include "coordinator/cli/exit_codes.h"
#include "coordinator/cli/render.h"
#include "coordinator/cli/verbs.h"

namespace spindle::cli {

absl::StatusOr<LocalSpec> LoadLocalSpec(const Options& o) {
  const std::string& path = o.operands.at(0);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot read the job spec (", std::strerror(errno), ")"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  LocalSpec local;
  absl::StatusOr<config::JobSpec> spec = config::ParseJobSpec(text.str(), path, o.overrides);
  if (!spec.ok()) return spec.status();
  local.spec = *std::move(spec);
  local.source.set_yaml(text.str());
  local.source.set_source_name(path);
  for (const std::string& s : o.overrides) local.source.add_overrides(s);
  std::error_code ec;
  std::filesystem::path cwd = std::filesystem::current_path(ec);
  if (!ec) local.source.set_working_dir(cwd.string());
  return local;
}

int PrintJson(const google::protobuf::Message& message, Io& io) {
  absl::StatusOr<std::string> json = MessageJson(message);
  if (!json.ok()) return Fail(json.status(), io);
  io.out << *json << "\n";
  return kExitOk;
}

int Fail(const absl::Status& status, Io& io) {
  io.err << status.message() << "\n";
  return ExitCodeForStatus(status);
}

ClientOptions ClientFor(const Options& o) {
  ClientOptions c;
  c.address = o.coordinator;
  c.security.token_file = o.token_file;
  c.security.tls_ca = o.tls_ca;
  c.security = rpc::WithEnvironmentDefaults(c.security);
  return c;
}

}  // namespace spindle::cli
