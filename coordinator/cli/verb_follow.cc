// submit, watch, wait: the verbs that follow a job to its end (follow.h).
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/time/clock.h"
#include "coordinator/cli/client.h"
#include "coordinator/cli/exit_codes.h"
#include "coordinator/cli/follow.h"
#include "coordinator/cli/render.h"
#include "coordinator/cli/verb_common.h"
#include "coordinator/cli/verbs.h"

namespace spindle::cli {
namespace v1 = spindle::v1;

namespace {

// $USER, else the login name of our uid (containers often leave USER unset).
std::string CurrentUser() {
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr) return pw->pw_name;
  return "";
}

}  // namespace

int RunSubmit(const Options& o, Io& io) {
  absl::StatusOr<LocalSpec> local = LoadLocalSpec(o);
  if (!local.ok()) {
    io.err << local.status().message() << "\n";
    return kExitInvalid;
  }
  v1::SubmitJobRequest request;
  *request.mutable_spec() = local->source;
  request.set_user(!o.user.empty() ? o.user : CurrentUser());

  Client client(ClientFor(o));
  absl::StatusOr<v1::SubmitJobResponse> response = client.SubmitJob(request);
  if (!response.ok()) return Fail(response.status(), io);
  const v1::Job& job = response->job();
  if (o.output == OutputFormat::kJson) {
    if (int rc = PrintJson(job, io); rc != kExitOk || o.detach) return rc;
  } else {
    io.out << "submitted job " << job.id() << " (" << job.name() << ")\n";
    if (o.detach) {
      io.out << SubmitFooter(job.id());
      return kExitOk;
    }
    io.out << "following it; Ctrl-C stops following, not the job\n" << std::flush;
  }
  FollowOptions follow;
  follow.job_id = job.id();
  follow.initial_state = job.state();
  return FollowJob(client, follow, o, io);
}

int RunWatch(const Options& o, Io& io) {
  Client client(ClientFor(o));
  absl::StatusOr<v1::Job> job = client.GetJob(o.operands[0]);
  if (!job.ok()) return Fail(job.status(), io);
  if (o.output != OutputFormat::kJson) {
    io.out << "job " << job->id() << " (" << job->name() << "): " << StateName(job->state())
           << ", attempt " << AttemptText(*job);
    std::string plan = PlanSummary(job->plan());
    if (!plan.empty()) io.out << ", " << plan;
    io.out << "\n" << RanksText(*job) << std::flush;
  }
  FollowOptions follow;
  follow.job_id = job->id();  // the full id, when a prefix was given
  follow.initial_state = job->state();
  follow.show_ranks = true;
  return FollowJob(client, follow, o, io);
}

int RunEvents(const Options& o, Io& io) {
  Client client(ClientFor(o));
  absl::StatusOr<v1::Job> job = client.GetJob(o.operands[0]);
  if (!job.ok()) return Fail(job.status(), io);
  v1::WatchJobRequest request;
  request.set_job_id(job->id());
  request.set_stored_only(true);
  std::vector<v1::JobEvent> events;
  const absl::Status s = client.WatchJob(request, absl::Now() + absl::Seconds(30),
                                         [&](const v1::JobEvent& e) { events.push_back(e); });
  if (!s.ok()) return Fail(s, io);
  for (const v1::JobEvent& e : events) {
    if (o.output == OutputFormat::kJson) {
      if (int rc = PrintJson(e, io); rc != kExitOk) return rc;
      continue;
    }
    io.out << EventLine(e, job->id(), io.tz) << "\n";
  }
  return kExitOk;
}

int RunWait(const Options& o, Io& io) {
  Client client(ClientFor(o));
  absl::StatusOr<v1::Job> job = client.GetJob(o.operands[0]);
  if (!job.ok()) return Fail(job.status(), io);
  FollowOptions follow;
  follow.job_id = job->id();
  follow.initial_state = job->state();
  follow.quiet = true;
  if (o.timeout.count() > 0) follow.deadline = absl::Now() + absl::FromChrono(o.timeout);
  return FollowJob(client, follow, o, io);
}

}  // namespace spindle::cli
