#include "coordinator/service/job_manager.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/config/confine.h"
#include "common/config/emit.h"
#include "common/config/load.h"
#include "coordinator/service/job_entry.h"
#include "coordinator/service/plan_proto.h"
#include "spdlog/spdlog.h"

namespace spindle::coordinator {

bool IsTerminal(v1::JobState s) {
  return s == v1::SUCCEEDED || s == v1::FAILED || s == v1::CANCELLED;
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// Specs hold settings, not data: anything this large is a mistake, refused
// before the YAML parser spends time on it.
constexpr size_t kMaxSpecBytes = 256 << 10;

absl::StatusOr<config::JobSpec> ParseSource(const v1::SpecSource& source) {
  const std::string name = source.source_name().empty() ? "job spec" : source.source_name();
  size_t bytes = source.yaml().size();
  for (const std::string& o : source.overrides()) bytes += o.size();
  if (bytes > kMaxSpecBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": ", bytes, " bytes with its --set overrides; a job spec may be at most ",
                     kMaxSpecBytes >> 10, " KiB (it names data files, it does not hold them)"));
  }
  const std::vector<std::string> overrides(source.overrides().begin(), source.overrides().end());
  return config::ParseJobSpec(source.yaml(), name, overrides);
}

}  // namespace

JobManager::JobManager(std::unique_ptr<store::JobStore> store, RendezvousService* rendezvous,
                       ManagerOptions options)
    : store_(std::move(store)), rendezvous_(rendezvous), options_(std::move(options)) {
  pool_.set_security(options_.security);
}

absl::StatusOr<std::unique_ptr<JobManager>> JobManager::Create(
    std::unique_ptr<store::JobStore> store, RendezvousService* rendezvous, ManagerOptions options) {
  std::unique_ptr<JobManager> m(new JobManager(std::move(store), rendezvous, std::move(options)));
  absl::StatusOr<std::vector<v1::Job>> jobs = m->store_->LoadAll();
  if (!jobs.ok()) return jobs.status();
  absl::StatusOr<int64_t> last = m->store_->LastJobNumber();
  if (!last.ok()) return last.status();
  m->next_number_ = *last + 1;
  std::lock_guard<std::mutex> lock(m->mu_);
  for (v1::Job& job : *jobs) {
    auto e = std::make_unique<Entry>();
    absl::StatusOr<config::JobSpec> spec = config::ParseJobSpec(job.spec_yaml(), job.id());
    if (!spec.ok()) {
      return absl::DataLossError(
          absl::StrCat("job store ", m->store_->path(), ": job ", job.id(),
                       "'s spec no longer parses: ", spec.status().message()));
    }
    e->spec = *std::move(spec);
    absl::StatusOr<std::vector<v1::JobEvent>> events = m->store_->Events(job.id(), 0);
    if (!events.ok()) return events.status();
    e->events = *std::move(events);
    e->job = std::move(job);
    Entry& entry = *e;
    m->jobs_.push_back(std::move(e));
    const v1::JobState s = entry.job.state();
    entry.waiting_since = Clock::now();
    if (s == v1::PLANNING || s == v1::RUNNING || s == v1::RESTARTING) {
      // Workers stop the ranks of this attempt when they report them (fencing).
      entry.restart_at = Clock::now();
      v1::Failure* f = entry.job.add_failures();
      f->set_attempt(entry.job.attempt());
      f->set_time_ms(NowMillis());
      f->set_kind(v1::INFRASTRUCTURE);
      f->set_rank(-1);
      f->set_cause("the coordinator restarted during the attempt");
      m->SetState(entry, v1::RESTARTING,
                  absl::StrCat("the coordinator restarted during attempt ", entry.job.attempt(),
                               "; the next attempt resumes from the newest checkpoint"));
    }
  }
  return m;
}

JobManager::~JobManager() { Shutdown(); }

absl::StatusOr<planner::Plan> JobManager::TimedPlan(const config::JobSpec& spec,
                                                    const planner::Inventory& inventory) {
  const auto start = Clock::now();
  absl::StatusOr<planner::Plan> plan = planner::MakePlan(spec, inventory);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::lock_guard<std::mutex> lock(metrics_mu_);
  planner_seconds_.Observe(seconds);
  return plan;
}

void JobManager::SetRendezvousTarget(const std::string& target) {
  std::lock_guard<std::mutex> lock(mu_);
  options_.rendezvous_target = target;
}

void JobManager::Start() {
  scheduler_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!shutting_down_) {
      Tick();
      changed_.wait_for(lock, options_.tick);
    }
  });
}

void JobManager::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutting_down_) return;
    shutting_down_ = true;
    for (auto& e : jobs_) {
      if (e->attempt.active) {
        StopAttempt(*e, "the coordinator is shutting down", options_.stop_grace);
      }
    }
    changed_.notify_all();
  }
  if (scheduler_.joinable()) scheduler_.join();
  // Stop RPCs may still be starting threads; take the list under the lock.
  for (;;) {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      threads.swap(background_);
    }
    if (threads.empty()) break;
    for (std::thread& t : threads) t.join();
  }
}

void JobManager::Async(std::function<void()> fn) { background_.emplace_back(std::move(fn)); }

absl::StatusOr<JobManager::Entry*> JobManager::Lookup(const std::string& id_or_prefix) {
  Entry* found = nullptr;
  for (auto& e : jobs_) {
    if (e->job.id() == id_or_prefix) return e.get();
    if (!id_or_prefix.empty() && e->job.id().rfind(id_or_prefix, 0) == 0) {
      if (found != nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("job id prefix '", id_or_prefix,
                                                       "' is ambiguous (", found->job.id(), ", ",
                                                       e->job.id(), ", ...); give more of it"));
      }
      found = e.get();
    }
  }
  if (found == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no job '", id_or_prefix, "'; `spindle list` shows the jobs"));
  }
  return found;
}

void JobManager::Persist(Entry& e) {
  e.last_persist = Clock::now();
  if (absl::Status s = store_->Put(e.job); !s.ok()) {
    spdlog::error("persisting job {}: {}", e.job.id(), s.ToString());
  }
}

void JobManager::AddEvent(Entry& e, v1::JobEvent::Kind kind, const std::string& message) {
  v1::JobEvent event;
  event.set_seq(static_cast<int64_t>(e.events.size()) + 1);
  event.set_time_ms(NowMillis());
  event.set_kind(kind);
  event.set_state(e.job.state());
  event.set_attempt(e.job.attempt());
  event.set_message(message);
  if (absl::Status s = store_->AppendEvent(e.job.id(), event); !s.ok()) {
    spdlog::error("storing an event of job {}: {}", e.job.id(), s.ToString());
  }
  spdlog::info("job {} {} (attempt {}): {}", e.job.id(), v1::JobState_Name(e.job.state()),
               e.job.attempt(), message);
  e.events.push_back(std::move(event));
  changed_.notify_all();
}

void JobManager::SetState(Entry& e, v1::JobState state, const std::string& message) {
  e.job.set_state(state);
  e.job.set_message(message);
  if (IsTerminal(state)) e.job.set_end_time_ms(NowMillis());
  Persist(e);
  AddEvent(e, v1::JobEvent::STATE, message);
}

absl::StatusOr<v1::Job> JobManager::Submit(const v1::SubmitJobRequest& request) {
  absl::StatusOr<config::JobSpec> spec = ParseSource(request.spec());
  if (!spec.ok()) return spec.status();
  if (absl::Status s =
          config::ConfineJobPaths(*spec, request.spec().working_dir(), options_.job_roots);
      !s.ok()) {
    return s;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return absl::UnavailableError("the coordinator is shutting down");
  // Refused before queueing when even the whole cluster could never run it.
  const planner::Inventory all = pool_.FullInventory(spec->resources.device);
  std::string note;
  if (all.nodes.empty()) {
    note = absl::StrCat("; no ", config::EnumName(spec->resources.device),
                        " workers are registered yet, the job waits for them");
  } else if (absl::StatusOr<planner::Plan> plan = TimedPlan(*spec, all); !plan.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the job can never run on this cluster (", all.nodes.size(), " ",
        config::EnumName(spec->resources.device), " workers): ", plan.status().message()));
  }
  auto e = std::make_unique<Entry>();
  e->spec = *std::move(spec);
  v1::Job& job = e->job;
  job.set_id(absl::StrCat(e->spec.metadata.name, "-", next_number_++));
  job.set_name(e->spec.metadata.name);
  job.set_user(request.user());
  job.set_create_time_ms(NowMillis());
  e->waiting_since = Clock::now();
  job.set_max_restarts(e->spec.fault_tolerance.max_restarts);
  job.set_max_attempts(1 + e->spec.fault_tolerance.max_restarts);
  job.set_spec_yaml(config::EmitJobSpec(e->spec));
  job.set_working_dir(request.spec().working_dir());
  Entry& entry = *e;
  jobs_.push_back(std::move(e));
  SetState(entry, v1::QUEUED,
           absl::StrCat("submitted", request.user().empty() ? "" : " by " + request.user(), note));
  return entry.job;
}

absl::StatusOr<v1::PlanJobResponse> JobManager::Plan(const v1::SpecSource& source) {
  absl::StatusOr<config::JobSpec> spec = ParseSource(source);
  if (!spec.ok()) return spec.status();
  if (absl::Status s = config::ConfineJobPaths(*spec, source.working_dir(), options_.job_roots);
      !s.ok()) {
    return s;
  }
  planner::Inventory all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all = pool_.FullInventory(spec->resources.device);
  }
  if (all.nodes.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no ", config::EnumName(spec->resources.device),
        " workers are registered; start spindle-worker, or plan offline with --cluster FILE"));
  }
  absl::StatusOr<planner::Plan> plan = TimedPlan(*spec, all);
  if (!plan.ok()) return plan.status();
  v1::PlanJobResponse response;
  service::ToProto(*plan, *spec, response.mutable_plan());
  response.set_effective_spec_yaml(config::EmitJobSpec(*spec));
  return response;
}

absl::StatusOr<v1::Job> JobManager::Get(const std::string& id_or_prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<Entry*> e = Lookup(id_or_prefix);
  if (!e.ok()) return e.status();
  return (*e)->job;
}

std::vector<v1::Job> JobManager::List(const std::vector<v1::JobState>& states, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::Job> out;
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {
    const v1::Job& job = (*it)->job;
    if (!states.empty() && std::find(states.begin(), states.end(), job.state()) == states.end()) {
      continue;
    }
    out.push_back(job);
    if (limit > 0 && static_cast<int>(out.size()) >= limit) break;
  }
  return out;
}

absl::StatusOr<v1::Job> JobManager::Cancel(const std::string& id_or_prefix,
                                           const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<Entry*> found = Lookup(id_or_prefix);
  if (!found.ok()) return found.status();
  Entry& e = **found;
  if (IsTerminal(e.job.state())) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", e.job.id(), " already ended: ", v1::JobState_Name(e.job.state())));
  }
  const std::string why = reason.empty() ? "cancelled" : "cancelled: " + reason;
  if (e.attempt.active) StopAttempt(e, why, options_.stop_grace);
  SetState(e, v1::CANCELLED, why);
  return e.job;
}

absl::StatusOr<JobChange> JobManager::WaitForChange(const std::string& job_id, int64_t* after_seq,
                                                    int64_t* progress_version,
                                                    std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  absl::StatusOr<Entry*> found = Lookup(job_id);
  if (!found.ok()) return found.status();
  Entry& e = **found;
  auto ready = [&] {
    return static_cast<int64_t>(e.events.size()) > *after_seq ||
           e.progress_version > *progress_version || shutting_down_;
  };
  changed_.wait_for(lock, timeout, ready);
  JobChange change;
  for (size_t i = static_cast<size_t>(std::max<int64_t>(0, *after_seq)); i < e.events.size(); ++i) {
    change.events.push_back(e.events[i]);
  }
  *after_seq = static_cast<int64_t>(e.events.size());
  change.progress_changed = e.progress_version > *progress_version;
  *progress_version = e.progress_version;
  change.job = e.job;
  change.terminal = IsTerminal(e.job.state());
  change.shutting_down = shutting_down_;
  return change;
}

absl::StatusOr<std::vector<LogTarget>> JobManager::LogTargets(const std::string& job_id, int rank,
                                                              int* attempt, bool* ended) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<Entry*> found = Lookup(job_id);
  if (!found.ok()) return found.status();
  Entry& e = **found;
  if (e.job.attempt() == 0) {
    return absl::FailedPreconditionError(absl::StrCat("job ", e.job.id(), " has not started yet (",
                                                      v1::JobState_Name(e.job.state()),
                                                      "): no logs"));
  }
  if (*attempt <= 0) *attempt = e.job.attempt();
  if (*attempt > e.job.attempt()) {
    return absl::InvalidArgumentError(absl::StrCat("job ", e.job.id(), " has had ", e.job.attempt(),
                                                   " attempts; --attempt ", *attempt,
                                                   " does not exist"));
  }
  *ended = !(e.attempt.active && e.attempt.number == *attempt);
  // Ranks are placed by the job's last plan; an earlier attempt's ranks ran
  // where that plan put them unless the cluster changed.
  std::vector<LogTarget> targets;
  for (const v1::RankAssignment& r : e.job.plan().ranks()) {
    if (rank >= 0 && r.rank() != rank) continue;
    LogTarget t;
    t.rank = r.rank();
    t.worker = r.worker();
    if (WorkerEntry* w = pool_.Find(r.worker())) t.control = w->control;
    targets.push_back(std::move(t));
  }
  if (targets.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("job ", e.job.id(), " has ranks 0..",
                                                   e.job.plan().ranks_size() - 1, ", not ", rank));
  }
  return targets;
}

v1::RegisterWorkerResponse JobManager::RegisterWorker(const v1::WorkerInfo& info) {
  std::lock_guard<std::mutex> lock(mu_);
  const bool restarted = pool_.Register(info, Clock::now());
  spdlog::info("worker {} registered from {} with {} {} devices{}", info.worker_id(),
               info.control_address(), info.devices_size(),
               info.devices().empty() ? "" : info.devices(0).kind(),
               restarted ? " (it restarted: its ranks are gone)" : "");
  if (restarted) {
    for (auto& e : jobs_) {
      if (e->attempt.active && e->attempt.workers.count(info.worker_id())) {
        FailAttempt(
            *e, v1::INFRASTRUCTURE,
            absl::StrCat("worker ", info.worker_id(), " restarted; the ranks it ran are gone"));
      }
    }
  }
  v1::RegisterWorkerResponse response;
  response.set_heartbeat_interval_ms(options_.heartbeat_interval.count());
  response.set_lease_ms(options_.worker_lease.count());
  response.set_session(pool_.Find(info.worker_id())->session);
  changed_.notify_all();
  return response;
}

std::vector<v1::WorkerInfo> JobManager::ListWorkers() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::WorkerInfo> out;
  pool_.Describe(Clock::now(), &out);
  return out;
}

}  // namespace spindle::coordinator
