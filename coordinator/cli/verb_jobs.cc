// status, list, cancel, workers: one unary call each, rendered.
#include "absl/time/clock.h"
#include "coordinator/cli/client.h"
#include "coordinator/cli/exit_codes.h"
#include "coordinator/cli/render.h"
#include "coordinator/cli/verbs.h"

namespace spindle::cli {
namespace v1 = spindle::v1;

int RunStatus(const Options& o, Io& io) {
  Client client(ClientFor(o));
  absl::StatusOr<v1::Job> job = client.GetJob(o.operands[0]);
  if (!job.ok()) return Fail(job.status(), io);
  if (o.output == OutputFormat::kJson) return PrintJson(*job, io);
  io.out << StatusText(*job, io.tz, absl::Now());
  return kExitOk;
}

int RunList(const Options& o, Io& io) {
  Client client(ClientFor(o));
  v1::ListJobsRequest request;
  for (v1::JobState s : o.states) request.add_states(s);
  request.set_limit(o.limit);
  absl::StatusOr<v1::ListJobsResponse> jobs = client.ListJobs(request);
  if (!jobs.ok()) return Fail(jobs.status(), io);
  if (o.output == OutputFormat::kJson) return PrintJson(*jobs, io);
  io.out << JobListText(*jobs, io.tz);
  return kExitOk;
}

int RunCancel(const Options& o, Io& io) {
  Client client(ClientFor(o));
  v1::CancelJobRequest request;
  request.set_job_id(o.operands[0]);
  request.set_reason(o.reason);
  absl::StatusOr<v1::CancelJobResponse> response = client.CancelJob(request);
  if (!response.ok()) return Fail(response.status(), io);
  if (o.output == OutputFormat::kJson) return PrintJson(response->job(), io);
  const v1::Job& job = response->job();
  io.out << "job " << job.id() << " (" << job.name() << "): " << StateName(job.state());
  if (!IsTerminal(job.state()))
    io.out << ", stopping; spindle wait " << job.id() << " waits for it";
  io.out << "\n";
  return kExitOk;
}

int RunWorkers(const Options& o, Io& io) {
  Client client(ClientFor(o));
  absl::StatusOr<v1::ListWorkersResponse> workers = client.ListWorkers();
  if (!workers.ok()) return Fail(workers.status(), io);
  if (o.output == OutputFormat::kJson) return PrintJson(*workers, io);
  io.out << WorkersText(*workers, absl::Now());
  return kExitOk;
}

}  // namespace spindle::cli
