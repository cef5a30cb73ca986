#include "coordinator/service/job_service.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace spindle::coordinator {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kWorkerRpcTimeout{10000};
constexpr milliseconds kLogPoll{500};
constexpr int kChunkBytes = 1 << 20;

// One rank's log as read so far; partial last lines wait for their newline
// when several ranks are interleaved.
struct LogCursor {
  LogTarget target;
  int64_t offset = 0;
  std::string partial;
};

// Reads what is new in one rank's log. Returns the bytes read (0 at the end).
absl::StatusOr<std::string> ReadSome(const v1::JobLogsRequest& req, int attempt, LogCursor& c) {
  if (c.target.control == nullptr) {
    return absl::UnavailableError(absl::StrCat("rank ", c.target.rank, " ran on worker ",
                                               c.target.worker, ", which is not registered now"));
  }
  v1::ReadLogRequest read;
  read.set_job_id(req.job_id());
  read.set_attempt(attempt);
  read.set_rank(c.target.rank);
  read.set_offset(c.offset);
  read.set_max_bytes(kChunkBytes);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kWorkerRpcTimeout);
  v1::ReadLogResponse response;
  const grpc::Status s = c.target.control->ReadLog(&context, read, &response);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        absl::StrCat("reading rank ", c.target.rank, "'s log from worker ",
                                     c.target.worker, ": ", s.error_message()));
  }
  c.offset = response.next_offset();
  return response.data();
}

std::string LastLines(const std::string& text, int n) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (int i = 0; i < n && pos != std::string::npos && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
  }
  return pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1);
}

}  // namespace

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

grpc::Status JobServiceImpl::Admit(const grpc::ServerContext& context) {
  if (grpc::Status s = auth_.Check(context); !s.ok()) return s;
  return rate_.Admit(context);
}

grpc::Status JobServiceImpl::SubmitJob(grpc::ServerContext* context,
                                       const v1::SubmitJobRequest* request,
                                       v1::SubmitJobResponse* response) {
  if (grpc::Status s = Admit(*context); !s.ok()) return s;
  absl::StatusOr<v1::Job> job = manager_->Submit(*request);
  if (!job.ok()) return ToGrpc(job.status());
  *response->mutable_job() = *std::move(job);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::PlanJob(grpc::ServerContext* context,
                                     const v1::PlanJobRequest* request,
                                     v1::PlanJobResponse* response) {
  if (grpc::Status s = Admit(*context); !s.ok()) return s;
  absl::StatusOr<v1::PlanJobResponse> plan = manager_->Plan(request->spec());
  if (!plan.ok()) return ToGrpc(plan.status());
  *response = *std::move(plan);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetJob(grpc::ServerContext* context, const v1::GetJobRequest* request,
                                    v1::Job* response) {
  if (grpc::Status s = Admit(*context); !s.ok()) return s;
  absl::StatusOr<v1::Job> job = manager_->Get(request->job_id());
  if (!job.ok()) return ToGrpc(job.status());
  *response = *std::move(job);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListJobs(grpc::ServerContext* context,
                                      const v1::ListJobsRequest* request,
                                      v1::ListJobsResponse* response) {
  if (grpc::Status s = Admit(*context); !s.ok()) return s;
  std::vector<v1::JobState> states;
  for (int s : request->states()) states.push_back(static_cast<v1::JobState>(s));
  for (v1::Job& job : manager_->List(states, request->limit())) {
    *response->add_jobs() = std::move(job);
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::WatchJob(grpc::ServerContext* context,
                                      const v1::WatchJobRequest* request,
                                      grpc::ServerWriter<v1::JobEvent>* writer) {
  if (grpc::Status s = Admit(*context); !s.ok()) return s;
  grpc::Status full;
  const rpc::StreamSlots::Slot slot = streams_.Acquire(&full);
  if (!full.ok()) return full;
  int64_t seq = request->after_seq();
  int64_t progress_version = -1;  // the current progress goes out first
  for (;;) {
    if (context->IsCancelled()) return grpc::Status::CANCELLED;
    absl::StatusOr<JobChange> change =
        manager_->WaitForChange(request->job_id(), &seq, &progress_version, milliseconds(1000));
    if (!change.ok()) return ToGrpc(change.status());
    for (const v1::JobEvent& e : change->events) {
      if (!writer->Write(e)) return grpc::Status::CANCELLED;
    }
    if (request->stored_only()) return grpc::Status::OK;
    if (change->progress_changed && change->job.progress().step() > 0) {
      v1::JobEvent e;
      e.set_seq(seq);
      e.set_time_ms(change->job.progress().update_time_ms());
      e.set_kind(v1::JobEvent::PROGRESS);
      e.set_state(change->job.state());
      e.set_attempt(change->job.attempt());
      *e.mutable_progress() = change->job.progress();
      if (!writer->Write(e)) return grpc::Status::CANCELLED;
    }
    if (change->terminal) return grpc::Status::OK;
    if (change->shutting_down) {
      return {grpc::StatusCode::UNAVAILABLE, "the coordinator is shutting down; reconnect"};
    }
  }
}

grpc::Status JobServiceImpl::JobLogs(grpc::ServerContext* context,
                                     const v1::JobLogsRequest* request,
                                     grpc::ServerWriter<v1::LogChunk>* writer) {
  if (grpc::Status s = Admit(*context); !s.ok()) return s;
  grpc::Status full;
  const rpc::StreamSlots::Slot slot = streams_.Acquire(&full);
  if (!full.ok()) return full;
  int attempt = request->attempt();
  bool ended = false;
  absl::StatusOr<std::vector<LogTarget>> targets =
      manager_->LogTargets(request->job_id(), request->rank(), &attempt, &ended);
  if (!targets.ok()) return ToGrpc(targets.status());
  const bool prefix = targets->size() > 1;
  std::vector<LogCursor> cursors;
  for (LogTarget& t : *targets) {
    LogCursor c;
    c.target = std::move(t);
    // Enough bytes for the requested lines at a generous 512 bytes each.
    if (request->tail_lines() > 0) c.offset = -int64_t{512} * request->tail_lines() - 4096;
    cursors.push_back(std::move(c));
  }
  bool first = true;
  for (;;) {
    bool any = false;
    for (LogCursor& c : cursors) {
      for (;;) {
        absl::StatusOr<std::string> data = ReadSome(*request, attempt, c);
        if (!data.ok()) return ToGrpc(data.status());
        if (data->empty()) break;
        any = true;
        std::string text = c.partial + *data;
        c.partial.clear();
        if (prefix) {  // whole lines only, each tagged with its rank
          const size_t end = text.rfind('\n');
          c.partial = end == std::string::npos ? text : text.substr(end + 1);
          text = end == std::string::npos ? "" : text.substr(0, end + 1);
        }
        if (first && request->tail_lines() > 0) text = LastLines(text, request->tail_lines());
        if (prefix && !text.empty()) {
          std::string tagged;
          for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
            absl::StrAppend(&tagged, "[rank ", c.target.rank, "] ", line, "\n");
          }
          text = std::move(tagged);
        }
        if (text.empty()) continue;
        v1::LogChunk chunk;
        chunk.set_rank(c.target.rank);
        chunk.set_data(std::move(text));
        if (!writer->Write(chunk)) return grpc::Status::CANCELLED;
      }
    }
    first = false;
    if (!request->follow() || context->IsCancelled()) break;
    if (ended && !any) break;
    if (!ended) {
      int a = attempt;
      if (!manager_->LogTargets(request->job_id(), request->rank(), &a, &ended).ok()) break;
    }
    std::this_thread::sleep_for(kLogPoll);
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::CancelJob(grpc::ServerContext* context,
                                       const v1::CancelJobRequest* request,
                                       v1::CancelJobResponse* response) {
  if (grpc::Status s = Admit(*context); !s.ok()) return s;
  absl::StatusOr<v1::Job> job = manager_->Cancel(request->job_id(), request->reason());
  if (!job.ok()) return ToGrpc(job.status());
  *response->mutable_job() = *std::move(job);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListWorkers(grpc::ServerContext* context,
                                         const v1::ListWorkersRequest*,
                                         v1::ListWorkersResponse* response) {
  if (grpc::Status s = Admit(*context); !s.ok()) return s;
  for (v1::WorkerInfo& w : manager_->ListWorkers()) *response->add_workers() = std::move(w);
  return grpc::Status::OK;
}

}  // namespace spindle::coordinator
