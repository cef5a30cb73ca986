// JobManager: placing attempts, following them through heartbeats, ending them.
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/config/emit.h"
#include "common/config/resolve.h"
#include "common/layout/flops.h"
#include "common/proc/rank_exit.h"
#include "common/rpc/secret.h"
#include "common/rpc/token_check.h"
#include "coordinator/service/hang.h"
#include "coordinator/service/job_entry.h"
#include "coordinator/service/job_manager.h"
#include "coordinator/service/plan_proto.h"
#include "spdlog/spdlog.h"

namespace spindle::coordinator {
namespace {

using std::chrono::milliseconds;

std::string Seconds(milliseconds d) { return absl::StrFormat("%.0fs", d.count() / 1000.0); }

// The spec each rank runs: the plan's degrees and batch written in, so the
// trainer resolves exactly the placed mesh.
config::JobSpec RankSpec(const config::JobSpec& spec, const planner::Plan& plan) {
  config::JobSpec s = spec;
  s.parallel.dp = plan.chosen.dp;
  s.parallel.sp.ulysses = plan.chosen.ulysses;
  s.parallel.sp.ring = plan.chosen.ring;
  s.data.global_batch_seqs = plan.global_batch_seqs;
  return s;
}

int MaxAttempts(const v1::Job& job) {
  return job.max_attempts() > 0 ? job.max_attempts() : 1 + job.max_restarts();
}

std::string DescribeExit(const v1::RankState& r) {
  if (r.signal() != 0) return absl::StrCat("was killed by signal ", r.signal());
  if (r.exit_code() == proc::kRankExitStopped) {
    return absl::StrCat("stopped on a signal after committing a checkpoint (exit code ",
                        r.exit_code(), ")");
  }
  return absl::StrCat("exited with code ", r.exit_code());
}

double PeakOf(const planner::DeviceInfo& d, config::Precision p) {
  return p == config::Precision::kBf16 && d.peak_flops_bf16 > 0 ? d.peak_flops_bf16
                                                                : d.peak_flops_fp32;
}

// Rank 0 reports the attempt's progress; no other worker may.
bool RunsRankZero(const std::map<int, RankLive>& ranks, const std::string& worker) {
  const auto it = ranks.find(0);
  return it != ranks.end() && it->second.worker == worker;
}

}  // namespace

void JobManager::Tick() {
  const Clock::time_point now = Clock::now();
  for (const std::string& lost : pool_.Expire(now, options_.worker_lease)) {
    spdlog::warn("worker {} lost: no heartbeat for {}", lost, Seconds(options_.worker_lease));
    for (auto& e : jobs_) {
      if (e->attempt.active && e->attempt.workers.count(lost)) {
        FailAttempt(*e, v1::INFRASTRUCTURE,
                    absl::StrCat("worker ", lost, " lost: no heartbeat for ",
                                 Seconds(options_.worker_lease)));
      }
    }
  }
  for (auto& e : jobs_) {
    Attempt& a = e->attempt;
    if (!a.active || e->job.state() != v1::RUNNING) continue;
    const milliseconds hang = e->spec.fault_tolerance.hang_timeout;
    if (now - a.last_step_time > hang) {
      std::vector<RankLife> lives;
      for (const auto& [rank, live] : a.ranks) {
        lives.push_back({rank, live.worker, live.device, live.live_time_ms, live.live_step,
                         live.collective_seq});
      }
      // A sign of life is written every 0.5 s and relayed with each heartbeat.
      const HangDiagnosis d =
          DiagnoseHang(lives, NowMillis(), 3 * options_.heartbeat_interval.count() + 2000);
      v1::Failure f;
      f.set_kind(v1::HANG);
      f.set_rank(d.culprits.empty() ? -1 : d.culprits.front());
      if (!d.culprits.empty()) {
        const RankLive& culprit = a.ranks.at(d.culprits.front());
        f.set_worker(culprit.worker);
        f.set_device(culprit.device);
      }
      f.set_cause(absl::StrCat("no training step for ", Seconds(hang),
                               " (fault_tolerance.hang_timeout) after step ", a.last_step, ": ",
                               d.text));
      FailAttempt(*e, std::move(f));
    }
  }
  // FIFO with all-or-nothing placement: only the oldest waiting job may take
  // devices, so a large job is never starved by smaller ones behind it.
  for (auto& e : jobs_) {
    const v1::JobState s = e->job.state();
    if (s == v1::QUEUED || (s == v1::RESTARTING && !e->attempt.active)) {
      if (s == v1::RESTARTING && now < e->restart_at) return;
      TryPlace(*e);
      return;
    }
  }
}

void JobManager::TryPlace(Entry& e) {
  const planner::Inventory free = pool_.FreeInventory(e.spec.resources.device);
  absl::StatusOr<planner::Plan> plan = TimedPlan(e.spec, free);
  if (!plan.ok()) {
    const std::string why = absl::StrCat("waiting for devices: ", plan.status().message());
    if (why != e.waiting) {
      e.waiting = why;
      e.job.set_message(why);
      Persist(e);
      AddEvent(e, v1::JobEvent::INFO, why);
    }
    return;
  }
  e.waiting.clear();
  {
    std::lock_guard<std::mutex> lock(metrics_mu_);
    queue_wait_seconds_.Observe(std::chrono::duration<double>(Clock::now() - e.waiting_since).count());
  }
  Attempt& a = e.attempt;
  a = Attempt{};
  a.number = e.job.attempt() + 1;
  a.active = true;
  a.plan = *std::move(plan);
  a.started = a.last_step_time = Clock::now();
  const config::JobSpec& spec = e.spec;
  a.flops_per_token = layout::MegatronFlopsPerToken(
      {spec.model.hidden_size, spec.model.intermediate_size, spec.model.num_hidden_layers,
       spec.model.num_attention_heads, spec.model.num_key_value_heads, spec.model.vocab_size},
      spec.data.seq_len);
  e.job.set_attempt(a.number);
  if (e.job.start_time_ms() == 0) e.job.set_start_time_ms(NowMillis());
  service::ToProto(a.plan, spec, e.job.mutable_plan());
  e.job.clear_ranks();

  const AttemptKey key{e.job.id(), a.number};
  const std::string attempt_key = rpc::NewSecret();
  const std::string spec_yaml = config::EmitJobSpec(RankSpec(spec, a.plan));
  std::map<std::string, v1::StartRanksRequest> requests;
  std::map<std::string, std::shared_ptr<v1::WorkerControl::Stub>> stubs;
  for (const planner::RankPlacement& r : a.plan.ranks) {
    const planner::NodeInfo& node = free.nodes[r.node];
    for (const planner::DeviceInfo& d : node.devices) {
      if (d.index == r.device) a.peak_flops += PeakOf(d, spec.train.precision);
    }
    pool_.Reserve(key, r.worker, r.device);
    a.workers.insert(r.worker);
    RankLive& live = a.ranks[r.rank];
    live.worker = r.worker;
    live.device = r.device;
    v1::RankSummary* summary = e.job.add_ranks();
    summary->set_rank(r.rank);
    summary->set_worker(r.worker);
    summary->set_device(r.device);
    summary->set_phase("starting");
    v1::StartRanksRequest& req = requests[r.worker];
    if (req.job_id().empty()) {
      req.set_job_id(e.job.id());
      req.set_attempt(a.number);
      req.set_spec_yaml(spec_yaml);
      req.set_world_size(a.plan.world());
      req.set_rendezvous(
          absl::StrCat("grpc://", options_.rendezvous_target, "/", e.job.id(), "/", a.number));
      req.set_working_dir(e.job.working_dir());
      req.set_attempt_key(attempt_key);
      stubs[r.worker] = pool_.Find(r.worker)->control;
    }
    v1::RankDevice* rd = req.add_ranks();
    rd->set_rank(r.rank);
    rd->set_device(r.device);
  }
  const double peak_per_rank = a.peak_flops / a.plan.world();
  for (auto& [worker, req] : requests) {
    req.set_peak_flops_per_rank(peak_per_rank);
    req.set_dtype(spec.train.precision == config::Precision::kBf16 ? "bf16" : "fp32");
    req.set_flops_per_token(a.flops_per_token);
  }
  rendezvous_->Open(e.job.id(), a.number, attempt_key);
  SetState(e, v1::PLANNING,
           absl::StrFormat("attempt %d of %d: dp %d × ulysses %d × ring %d on %s", a.number,
                           MaxAttempts(e.job), a.plan.chosen.dp, a.plan.chosen.ulysses,
                           a.plan.chosen.ring, absl::StrJoin(a.workers, ", ")));

  Entry* entry = &e;
  const milliseconds rpc_timeout = options_.rpc_timeout;
  Async([this, entry, key, requests = std::move(requests), stubs = std::move(stubs), rpc_timeout] {
    std::string failure;
    for (const auto& [worker, req] : requests) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + rpc_timeout);
      v1::StartRanksResponse response;
      const grpc::Status s = stubs.at(worker)->StartRanks(&context, req, &response);
      if (!s.ok()) {
        failure = absl::StrCat("could not start ranks on worker ", worker, ": ", s.error_message());
        break;
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = *entry;
    if (!e.attempt.active || e.attempt.number != key.second) return;
    if (!failure.empty()) {
      FailAttempt(e, v1::INFRASTRUCTURE, failure);
    } else if (e.job.state() == v1::PLANNING) {
      SetState(
          e, v1::RUNNING,
          absl::StrCat("attempt ", key.second, ": ", e.attempt.plan.world(), " ranks started"));
    }
  });
}

void JobManager::StopAttempt(Entry& e, const std::string& reason, milliseconds grace) {
  Attempt& a = e.attempt;
  if (!a.active) return;
  a.active = false;
  rendezvous_->Close(e.job.id(), a.number);
  const AttemptKey key{e.job.id(), a.number};
  std::vector<std::pair<std::string, std::shared_ptr<v1::WorkerControl::Stub>>> targets;
  for (const std::string& worker : a.workers) {
    WorkerEntry* w = pool_.Find(worker);
    if (w != nullptr && w->alive) targets.emplace_back(worker, w->control);
  }
  const milliseconds rpc_timeout = options_.rpc_timeout;
  Async([this, key, targets = std::move(targets), grace, rpc_timeout, reason] {
    for (const auto& [worker, stub] : targets) {
      v1::StopRanksRequest req;
      req.set_job_id(key.first);
      req.set_attempt(key.second);
      req.set_grace_ms(grace.count());
      req.set_reason(reason);
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + grace + rpc_timeout);
      v1::StopRanksResponse response;
      const grpc::Status s = stub->StopRanks(&context, req, &response);
      if (!s.ok()) {
        spdlog::warn(
            "stopping {} attempt {} on worker {}: {}; its devices stay busy until it "
            "reports them free",
            key.first, key.second, worker, s.error_message());
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    pool_.Release(key);
    changed_.notify_all();
  });
}

void JobManager::FailAttempt(Entry& e, v1::FailureKind kind, const std::string& cause) {
  v1::Failure f;
  f.set_kind(kind);
  f.set_cause(cause);
  f.set_rank(-1);
  FailAttempt(e, std::move(f));
}

void JobManager::FailAttempt(Entry& e, v1::Failure f) {
  if (!e.attempt.active) return;
  const std::string cause = f.cause();
  f.set_attempt(e.job.attempt());
  f.set_time_ms(NowMillis());
  const bool user = f.kind() == v1::USER;
  const bool preempted = f.kind() == v1::PREEMPTED;
  *e.job.add_failures() = std::move(f);
  // No fault of the job's, and nothing lost: its ranks committed a checkpoint
  // where they stopped. The attempt it took is given back.
  if (preempted) e.job.set_max_attempts(MaxAttempts(e.job) + 1);
  StopAttempt(e, cause, milliseconds(0));
  const int attempts = MaxAttempts(e.job);
  if (e.job.attempt() < attempts && !shutting_down_ && !user) {
    const milliseconds backoff = e.spec.fault_tolerance.backoff;
    e.restart_at = Clock::now() + backoff;
    e.waiting_since = e.restart_at;
    SetState(e, v1::RESTARTING,
             absl::StrCat("attempt ", e.job.attempt(), preempted ? " was preempted: " : " failed: ",
                          cause, "; attempt ", e.job.attempt() + 1, " of ", attempts, " starts in ",
                          Seconds(backoff), " from the newest checkpoint"));
  } else if (user) {
    SetState(e, v1::FAILED,
             absl::StrCat(cause,
                          " (a user error: the spec or data is wrong, so the job is not "
                          "restarted; fix it and submit again)"));
  } else {
    SetState(e, v1::FAILED,
             absl::StrCat(cause, e.job.attempt() > 1
                                     ? absl::StrCat(" (attempt ", e.job.attempt(), " of ", attempts,
                                                    "; no restarts left)")
                                     : ""));
  }
}

void JobManager::Succeed(Entry& e) {
  Attempt& a = e.attempt;
  a.active = false;
  rendezvous_->Close(e.job.id(), a.number);
  pool_.Release({e.job.id(), a.number});
  const std::string& export_dir = e.spec.checkpoint.export_spec.dir;
  if (!export_dir.empty()) {
    const std::filesystem::path p(export_dir);
    e.job.set_export_dir(p.is_absolute() || e.job.working_dir().empty()
                             ? export_dir
                             : (std::filesystem::path(e.job.working_dir()) / p).string());
  }
  SetState(e, v1::SUCCEEDED,
           absl::StrFormat("%d steps, loss %.4f -> %.4f", e.job.progress().step(),
                           e.job.progress().first_loss(), e.job.progress().loss()));
}

v1::HeartbeatReply JobManager::OnHeartbeat(const v1::WorkerHeartbeat& hb) {
  std::lock_guard<std::mutex> lock(mu_);
  v1::HeartbeatReply reply;
  WorkerEntry* w = pool_.Find(hb.worker_id());
  if (w == nullptr || !w->alive) {
    reply.set_reregister(true);
    return reply;
  }
  if (!rpc::ConstantTimeEquals(hb.session(), w->session)) {
    // A stale instance of the worker, or someone else using its id: only the
    // instance that registered last reports for it.
    spdlog::warn("heartbeat for worker {} without its current registration session; "
                 "told to register again",
                 hb.worker_id());
    reply.set_reregister(true);
    return reply;
  }
  w->last_heartbeat = Clock::now();
  w->draining = hb.draining();
  w->reported_busy.clear();
  std::set<AttemptKey> stop;
  // Progress before rank states: a rank's last steps count before its exit
  // can end the attempt.
  for (const v1::RankProgress& p : hb.progress()) {
    absl::StatusOr<Entry*> e = Lookup(p.job_id());
    if (e.ok() && (*e)->job.id() == p.job_id() && (*e)->attempt.number == p.attempt() &&
        RunsRankZero((*e)->attempt.ranks, hb.worker_id())) {
      OnProgress(**e, p);
    }
  }
  for (const v1::RankState& r : hb.ranks()) {
    if (r.phase() == v1::RankState::RUNNING) w->reported_busy.insert(r.device());
    absl::StatusOr<Entry*> e = Lookup(r.job_id());
    if (e.ok() && (*e)->job.id() == r.job_id() && (*e)->attempt.active &&
        (*e)->attempt.number == r.attempt()) {
      OnRankState(**e, hb.worker_id(), r);
    } else if (r.phase() == v1::RankState::RUNNING) {
      stop.insert({r.job_id(), r.attempt()});
    }
  }
  for (const AttemptKey& k : stop) {
    v1::AttemptRef* ref = reply.add_stop();
    ref->set_job_id(k.first);
    ref->set_attempt(k.second);
  }
  return reply;
}

void JobManager::OnRankState(Entry& e, const std::string& worker, const v1::RankState& r) {
  auto it = e.attempt.ranks.find(r.rank());
  if (it == e.attempt.ranks.end() || it->second.worker != worker) return;
  RankLive& live = it->second;
  if (r.live_time_ms() > 0) {
    live.live_time_ms = r.live_time_ms();
    live.live_step = r.live_step();
    live.collective_seq.clear();
    for (const auto& [group, n] : r.collective_seq()) live.collective_seq[group] = n;
  }
  if (live.phase == r.phase()) return;
  live.phase = r.phase();
  live.exit_code = r.exit_code();
  live.signal = r.signal();
  for (v1::RankSummary& s : *e.job.mutable_ranks()) {
    if (s.rank() != r.rank()) continue;
    s.set_phase(r.phase() == v1::RankState::RUNNING ? "running" : "exited");
    s.set_exit_code(r.exit_code());
    s.set_signal(r.signal());
  }
  if (r.phase() != v1::RankState::EXITED) return;
  if (r.exit_code() != 0 || r.signal() != 0) {
    v1::Failure f;
    // A bad spec, data or usage is the user's. A rank stopped with a
    // checkpoint on an attempt still active was stopped from outside (the
    // coordinator ends an attempt before it stops one): a preemption.
    // Everything else is the infrastructure's.
    const bool exited = r.signal() == 0;
    f.set_kind(exited && r.exit_code() == proc::kRankExitInvalid   ? v1::USER
               : exited && r.exit_code() == proc::kRankExitStopped ? v1::PREEMPTED
                                                                   : v1::INFRASTRUCTURE);
    f.set_rank(r.rank());
    f.set_worker(worker);
    f.set_device(r.device());
    f.set_exit_code(r.exit_code());
    f.set_signal(r.signal());
    f.set_log_tail(r.log_tail());
    std::string cause = absl::StrCat("rank ", r.rank(), " on worker ", worker, " (device ",
                                     r.device(), ") ", DescribeExit(r));
    if (!r.log_tail().empty()) absl::StrAppend(&cause, "; last lines of its log:\n", r.log_tail());
    f.set_cause(cause);
    FailAttempt(e, std::move(f));
    return;
  }
  for (const auto& [rank, other] : e.attempt.ranks) {
    if (other.phase != v1::RankState::EXITED) return;
  }
  Succeed(e);
}

void JobManager::OnProgress(Entry& e, const v1::RankProgress& p) {
  Attempt& a = e.attempt;
  v1::Progress& prog = *e.job.mutable_progress();
  if (!p.checkpoint().empty() && p.checkpoint() != e.job.last_checkpoint()) {
    e.job.set_last_checkpoint(p.checkpoint());
    AddEvent(e, v1::JobEvent::INFO, absl::StrCat("checkpoint committed: ", p.checkpoint()));
  }
  if (p.step() <= a.last_step && a.last_step > 0) return;
  const bool first_of_job = prog.step() == 0 && prog.first_loss() == 0;
  a.last_step = p.step();
  a.last_step_time = Clock::now();
  // Smoothed step time over the reports (a report may skip steps).
  a.step_seconds = a.step_seconds == 0 ? p.seconds() : 0.7 * a.step_seconds + 0.3 * p.seconds();
  const int64_t total = config::TotalSteps(e.spec, a.plan.global_batch_seqs);
  prog.set_step(p.step());
  prog.set_total_steps(total);
  prog.set_loss(p.loss());
  if (first_of_job) prog.set_first_loss(p.first_step() > 0 ? p.first_loss() : p.loss());
  prog.set_grad_norm(p.grad_norm());
  prog.set_learning_rate(p.learning_rate());
  const double tokens_per_second = p.seconds() > 0 ? p.tokens() / p.seconds() : 0;
  prog.set_tokens_per_second(tokens_per_second);
  prog.set_mfu(a.peak_flops > 0 ? a.flops_per_token * tokens_per_second / a.peak_flops : 0);
  prog.set_eta_seconds(a.step_seconds * static_cast<double>(total - p.step()));
  prog.set_update_time_ms(NowMillis());
  ++e.progress_version;
  if (Clock::now() - e.last_persist > std::chrono::seconds(5)) Persist(e);
  changed_.notify_all();
}

}  // namespace spindle::coordinator
