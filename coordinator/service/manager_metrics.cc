#include "coordinator/service/manager_metrics.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "coordinator/service/job_entry.h"
#include "coordinator/service/job_manager.h"

namespace spindle::coordinator {

void AddManagerMetrics(const ManagerMetrics& m, metrics::Families* f) {
  f->Gauge("spindle_jobs", "Jobs in the database by state.");
  for (const char* state : {"queued", "planning", "running", "restarting", "succeeded", "failed",
                            "cancelled"}) {
    const auto it = m.jobs_by_state.find(state);
    f->Add({{"state", state}}, it == m.jobs_by_state.end() ? 0 : it->second);
  }
  f->Gauge("spindle_job_info", "Always 1 for a live job; the labels describe it.");
  for (const auto& j : m.live_jobs) {
    f->Add({{"job_id", j.id},
            {"job_name", j.name},
            {"user", j.user},
            {"model", j.model},
            {"attempt", absl::StrCat(j.attempt)},
            {"dp", absl::StrCat(j.dp)},
            {"ulysses", absl::StrCat(j.ulysses)},
            {"ring", absl::StrCat(j.ring)}},
           1);
  }
  f->Gauge("spindle_job_state", "1 for the live job's current state.");
  for (const auto& j : m.live_jobs) f->Add({{"job_id", j.id}, {"state", j.state}}, 1);
  f->Gauge("spindle_job_world_size", "Ranks of the job's current attempt.");
  for (const auto& j : m.live_jobs) {
    if (j.world > 0) f->Add({{"job_id", j.id}}, j.world);
  }
  f->Counter("spindle_job_restarts_total", "Attempts that ended early, by reason.");
  for (const auto& j : m.live_jobs) {
    for (const char* reason : {"user", "infrastructure", "hang", "preempted"}) {
      const auto it = j.restarts.find(reason);
      f->Add({{"job_id", j.id}, {"reason", reason}}, it == j.restarts.end() ? 0 : it->second);
    }
  }
  f->Gauge("spindle_train_mfu_ratio",
           "Model FLOPs per second over the attempt's peak FLOPs, from rank 0's last steps.");
  for (const auto& j : m.live_jobs) {
    if (j.mfu > 0) f->Add({{"job_id", j.id}}, j.mfu);
  }
  f->Gauge("spindle_job_eta_seconds",
           "Seconds to the schedule's last step at the attempt's recent step time.");
  for (const auto& j : m.live_jobs) {
    if (j.state == "running" && j.eta_seconds > 0) f->Add({{"job_id", j.id}}, j.eta_seconds);
  }
  f->Gauge("spindle_plan_predicted_step_seconds", "The planner's step time for the chosen plan.");
  for (const auto& j : m.live_jobs) {
    if (j.predicted_step_seconds > 0) f->Add({{"job_id", j.id}}, j.predicted_step_seconds);
  }
  f->Gauge("spindle_plan_predicted_memory_bytes",
           "The planner's peak memory per device for the chosen plan.");
  for (const auto& j : m.live_jobs) {
    if (j.predicted_memory_bytes > 0) f->Add({{"job_id", j.id}}, j.predicted_memory_bytes);
  }
  f->Histogram("spindle_planner_duration_seconds", "Time of one planning call.")
      .Add({}, m.planner_seconds);
  f->Histogram("spindle_scheduler_queue_wait_seconds",
               "From submit (or a restart's backoff) to placement.")
      .Add({}, m.queue_wait_seconds);
  f->Gauge("spindle_workers", "Registered workers by state.")
      .Add({{"state", "alive"}}, m.workers_alive)
      .Add({{"state", "lost"}}, m.workers_lost);
  f->Gauge("spindle_worker_devices", "Devices of alive workers, free or busy.")
      .Add({{"state", "free"}}, m.devices_free)
      .Add({{"state", "busy"}}, m.devices_busy);
  f->Gauge("spindle_worker_heartbeat_age_seconds", "Since the worker's last heartbeat.");
  for (const auto& [worker, age] : m.heartbeat_age_seconds) f->Add({{"worker", worker}}, age);
}

}  // namespace spindle::coordinator

// JobManager's side: the snapshot, under its lock.

namespace spindle::coordinator {

ManagerMetrics JobManager::Metrics() {
  ManagerMetrics m;
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = Clock::now();
  for (const auto& e : jobs_) {
    const std::string state = absl::AsciiStrToLower(v1::JobState_Name(e->job.state()));
    ++m.jobs_by_state[state];
    if (IsTerminal(e->job.state())) continue;
    ManagerMetrics::Job j;
    j.id = e->job.id();
    j.name = e->job.name();
    j.user = e->job.user();
    j.model = e->spec.model.preset.empty() ? "custom" : e->spec.model.preset;
    j.state = state;
    j.attempt = e->job.attempt();
    if (e->attempt.number > 0) {
      const planner::Candidate& c = e->attempt.plan.chosen;
      j.dp = c.dp;
      j.ulysses = c.ulysses;
      j.ring = c.ring;
      j.world = e->attempt.plan.world();
      j.predicted_step_seconds = c.time.total;
      j.predicted_memory_bytes = static_cast<double>(c.memory.total);
    }
    for (const v1::Failure& f : e->job.failures()) {
      ++j.restarts[absl::AsciiStrToLower(v1::FailureKind_Name(f.kind()))];
    }
    j.mfu = e->job.progress().mfu();
    const v1::Progress& p = e->job.progress();
    if (p.step() < p.total_steps()) j.eta_seconds = p.eta_seconds();
    m.live_jobs.push_back(std::move(j));
  }
  for (const auto& [id, w] : pool_.workers()) {
    (w.alive ? m.workers_alive : m.workers_lost) += 1;
    m.heartbeat_age_seconds.emplace_back(
        id, std::chrono::duration<double>(now - w.last_heartbeat).count());
    if (!w.alive) continue;
    for (const v1::Device& d : w.info.devices()) {
      const bool busy = w.reserved.count(d.index()) > 0 || w.reported_busy.count(d.index()) > 0;
      (busy ? m.devices_busy : m.devices_free) += 1;
    }
  }
  std::lock_guard<std::mutex> metrics_lock(metrics_mu_);
  m.planner_seconds = planner_seconds_;
  m.queue_wait_seconds = queue_wait_seconds_;
  return m;
}

}  // namespace spindle::coordinator
