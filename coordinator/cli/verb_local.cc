// validate and plan: the verbs that work on a spec file.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/config/emit.h"
#include "coordinator/cli/client.h"
#include "coordinator/cli/exit_codes.h"
#include "coordinator/cli/render.h"
#include "coordinator/cli/spec_json.h"
#include "coordinator/cli/verb_common.h"
#include "coordinator/cli/verbs.h"
#include "coordinator/planner/cluster_file.h"
#include "coordinator/planner/plan.h"
#include "coordinator/service/plan_proto.h"

namespace spindle::cli {
namespace v1 = spindle::v1;

int RunValidate(const Options& o, Io& io) {
  const std::string& path = o.operands[0];
  absl::StatusOr<LocalSpec> local = LoadLocalSpec(o);
  if (o.output == OutputFormat::kJson) {
    nlohmann::ordered_json j;
    j["source"] = path;
    j["valid"] = local.ok();
    if (local.ok()) {
      j["name"] = local->spec.metadata.name;
      j["summary"] = ValidSummary(path, local->spec);
      absl::StatusOr<nlohmann::ordered_json> spec = YamlToJson(config::EmitJobSpec(local->spec));
      if (!spec.ok()) return Fail(spec.status(), io);
      j["spec"] = *spec;
    } else {
      std::vector<std::string> errors =
          absl::StrSplit(local.status().message(), '\n', absl::SkipEmpty());
      j["errors"] = errors;
    }
    io.out << j.dump() << "\n";
    return local.ok() ? kExitOk : kExitInvalid;
  }
  if (!local.ok()) {
    io.err << local.status().message() << "\n";
    return kExitInvalid;
  }
  if (o.show_defaults) {
    io.out << config::EmitJobSpec(local->spec);
  } else {
    io.out << ValidSummary(path, local->spec) << "\n";
  }
  return kExitOk;
}

namespace {

void PrintText(const std::string& text, Io& io) {
  io.out << text;
  if (!text.empty() && text.back() != '\n') io.out << "\n";
}

// --cluster: the planner run here, on the cluster file's inventory.
int PlanLocally(const Options& o, const LocalSpec& local, Io& io) {
  absl::StatusOr<planner::Inventory> inventory = planner::LoadClusterFile(o.cluster);
  if (!inventory.ok()) {
    io.err << inventory.status().message() << "\n";
    return kExitInvalid;
  }
  absl::StatusOr<planner::Plan> plan = planner::MakePlan(local.spec, *inventory);
  if (!plan.ok()) {
    io.err << plan.status().message() << "\n";
    return kExitInvalid;
  }
  if (o.output == OutputFormat::kJson) {
    v1::Plan proto;
    service::ToProto(*plan, local.spec, &proto);
    return PrintJson(proto, io);
  }
  PrintText(planner::ExplainPlan(*plan, local.spec), io);
  return kExitOk;
}

}  // namespace

int RunPlan(const Options& o, Io& io) {
  absl::StatusOr<LocalSpec> local = LoadLocalSpec(o);
  if (!local.ok()) {
    io.err << local.status().message() << "\n";
    return kExitInvalid;
  }
  if (!o.cluster.empty()) return PlanLocally(o, *local, io);

  Client client(ClientFor(o));
  v1::PlanJobRequest request;
  *request.mutable_spec() = local->source;
  absl::StatusOr<v1::PlanJobResponse> response = client.PlanJob(request);
  if (!response.ok()) return Fail(response.status(), io);
  if (o.output == OutputFormat::kJson) return PrintJson(*response, io);
  PrintText(response->plan().explanation(), io);
  return kExitOk;
}

}  // namespace spindle::cli
