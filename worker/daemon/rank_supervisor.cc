#include "worker/daemon/rank_supervisor.h"

#include <signal.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/rpc/secret.h"
#include "common/rpc/security.h"
#include "common/status.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace spindle::worker {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr auto kKeepExited = std::chrono::seconds(60);
constexpr int kMaxLogRead = 1 << 20;

}  // namespace

struct RankSupervisor::Rank {
  int device = 0;
  RankSnapshot metrics;  // job-level fields set at start; the rest read as it runs
  std::optional<proc::Subprocess> process;  // set once spawned
  std::string log_path;
  std::string metrics_path;  // rank 0 only
  std::string liveness_path;
  nlohmann::json liveness;  // the last one read
  int64_t metrics_offset = 0;
  std::string metrics_partial;
  v1::RankProgress progress;  // latest step read
  bool has_progress = false;
  bool exited = false;
  proc::ExitStatus status;
  Clock::time_point exited_at;
  std::string log_tail;
};

RankSupervisor::RankSupervisor(SupervisorOptions options) : options_(std::move(options)) {}

RankSupervisor::~RankSupervisor() { StopAll(std::chrono::milliseconds(2000)); }

std::string RankSupervisor::AttemptDir(const std::string& job_id, int attempt) const {
  return (fs::path(options_.work_dir) / job_id / absl::StrCat("attempt-", attempt)).string();
}

void RankSupervisor::Drain() {
  std::lock_guard<std::mutex> lock(mu_);
  draining_ = true;
}

absl::Status RankSupervisor::Start(const v1::StartRanksRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  if (draining_) {
    return absl::UnavailableError(absl::StrCat("this worker is shutting down; attempt ",
                                               req.attempt(), " of job ", req.job_id(),
                                               " must be placed elsewhere"));
  }
  PollLocked();
  for (const auto& [key, rank] : ranks_) {
    if (rank->exited) continue;
    if (std::get<0>(key) == req.job_id() && std::get<1>(key) == req.attempt()) {
      return absl::FailedPreconditionError(
          absl::StrCat("attempt ", req.attempt(), " of job ", req.job_id(), " already runs here"));
    }
    for (const v1::RankDevice& rd : req.ranks()) {
      if (rd.device() == rank->device) {
        return absl::FailedPreconditionError(
            absl::StrCat("device ", rd.device(), " is busy with rank ", std::get<2>(key),
                         " of job ", std::get<0>(key), " attempt ", std::get<1>(key)));
      }
    }
  }
  const std::string dir = AttemptDir(req.job_id(), req.attempt());
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("creating ", dir, ": ", ec.message()));
  if (req.attempt_key().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("StartRanks for ", req.job_id(), " attempt ", req.attempt(),
                     " carries no attempt_key; the coordinator is older than this worker"));
  }
  const std::string key_path = dir + "/attempt.key";
  SPINDLE_RETURN_IF_ERROR(rpc::WriteSecretFile(key_path, req.attempt_key()));
  const std::string spec_path = dir + "/job.yaml";
  {
    std::ofstream out(spec_path, std::ios::trunc);
    out << req.spec_yaml();
    if (!out) return absl::InternalError(absl::StrCat("writing ", spec_path));
  }
  // Relative paths in the spec mean the submitter's directory when this
  // worker shares it; otherwise the attempt directory.
  const std::string cwd =
      !req.working_dir().empty() && fs::is_directory(req.working_dir()) ? req.working_dir() : dir;
  std::vector<Key> started;
  for (const v1::RankDevice& rd : req.ranks()) {
    auto rank = std::make_unique<Rank>();
    rank->device = rd.device();
    RankSnapshot& m = rank->metrics;
    m.job_id = req.job_id();
    m.attempt = req.attempt();
    m.rank = rd.rank();
    m.device = rd.device();
    m.world = req.world_size();
    m.peak_flops = req.peak_flops_per_rank();
    m.dtype = req.dtype();
    m.flops_per_token = req.flops_per_token();
    rank->log_path = absl::StrCat(dir, "/rank-", rd.rank(), ".log");
    proc::SpawnOptions o;
    o.program = options_.trainer;
    o.args = {spec_path,
              "--rank",
              absl::StrCat(rd.rank()),
              "--world",
              absl::StrCat(req.world_size()),
              "--rendezvous",
              req.rendezvous(),
              "--local-ranks",
              absl::StrCat(static_cast<int>(std::ceil(req.ranks_size() * options_.core_share)))};
    if (req.peak_flops_per_rank() > 0) {
      o.args.insert(o.args.end(), {"--peak-gflops", absl::StrCat(req.peak_flops_per_rank() / 1e9)});
    }
    rank->liveness_path = absl::StrCat(dir, "/rank-", rd.rank(), ".live.json");
    fs::remove(rank->liveness_path, ec);
    o.args.insert(o.args.end(), {"--liveness", rank->liveness_path});
    if (rd.rank() == 0) {
      rank->metrics_path = dir + "/metrics.jsonl";
      fs::remove(rank->metrics_path, ec);
      o.args.insert(o.args.end(), {"--metrics", rank->metrics_path});
    }
    o.stdout_path = rank->log_path;
    o.stderr_to_stdout = true;
    o.cwd = cwd;
    o.env = options_.env;
    o.env.push_back(absl::StrCat(rpc::kAttemptKeyFileEnv, "=", key_path));
    if (options_.cuda) o.env.push_back(absl::StrCat("CUDA_VISIBLE_DEVICES=", rd.device()));
    absl::StatusOr<proc::Subprocess> child = proc::Subprocess::Spawn(o);
    if (!child.ok()) {
      for (const Key& k : started) ranks_.erase(k);  // destructors kill them
      return child.status();
    }
    rank->process.emplace(*std::move(child));
    const Key key{req.job_id(), req.attempt(), rd.rank()};
    spdlog::info("started rank {} of {} attempt {} on device {} (pid {}), log {}", rd.rank(),
                 req.job_id(), req.attempt(), rd.device(), rank->process->pid(), rank->log_path);
    ranks_[key] = std::move(rank);
    started.push_back(key);
  }
  return absl::OkStatus();
}

void RankSupervisor::PollLocked() {
  for (auto& [key, r] : ranks_) {
    // Exit first, metrics second: every line a rank wrote before exiting is
    // then read before its exit is reported.
    if (!r->exited && r->process->Poll(&r->status)) {
      r->exited = true;
      r->exited_at = Clock::now();
      if (!r->status.ok()) r->log_tail = proc::TailFile(r->log_path, options_.log_tail_lines);
      spdlog::info("rank {} of {} attempt {}: {}", std::get<2>(key), std::get<0>(key),
                   std::get<1>(key), r->status.Describe());
    }
    if (!r->exited && !r->liveness_path.empty()) {
      std::ifstream in(r->liveness_path);
      if (in) {
        nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
        if (j.is_object()) r->liveness = std::move(j);
      }
    }
    if (!r->metrics_path.empty()) {
      std::ifstream in(r->metrics_path, std::ios::binary);
      if (in) {
        in.seekg(r->metrics_offset);
        std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        r->metrics_offset += static_cast<int64_t>(chunk.size());
        std::string text = r->metrics_partial + chunk;
        const size_t end = text.rfind('\n');
        r->metrics_partial = end == std::string::npos ? text : text.substr(end + 1);
        size_t pos = 0;
        while (end != std::string::npos && pos <= end) {
          const size_t nl = text.find('\n', pos);
          const nlohmann::json j = nlohmann::json::parse(text.substr(pos, nl - pos), nullptr,
                                                         /*allow_exceptions=*/false);
          pos = nl + 1;
          if (!j.is_object() || !j.contains("step")) continue;
          v1::RankProgress& p = r->progress;
          p.set_job_id(std::get<0>(key));
          p.set_attempt(std::get<1>(key));
          p.set_step(j.value("step", int64_t{0}));
          p.set_loss(j.value("loss", 0.0));
          p.set_grad_norm(j.value("grad_norm", 0.0));
          p.set_learning_rate(j.value("lr", 0.0));
          p.set_tokens(j.value("tokens", int64_t{0}));
          p.set_seconds(j.value("seconds", 0.0));
          if (j.contains("checkpoint")) p.set_checkpoint(j.value("checkpoint", ""));
          if (!r->has_progress) {
            p.set_first_step(p.step());
            p.set_first_loss(p.loss());
          }
          r->has_progress = true;
          r->metrics.step_seconds.Observe(p.seconds());
          if (j.contains("checkpoint")) {
            r->metrics.checkpoint_step = p.step();
            r->metrics.checkpoint_time = j.value("time", 0.0);
            r->metrics.checkpoint_seconds.Observe(j.value("checkpoint_seconds", 0.0));
          }
        }
      }
    }
  }
}

void RankSupervisor::FillHeartbeat(v1::WorkerHeartbeat* hb) {
  std::lock_guard<std::mutex> lock(mu_);
  PollLocked();
  hb->set_draining(draining_);
  for (v1::RankProgress& p : stopped_progress_) *hb->add_progress() = std::move(p);
  stopped_progress_.clear();
  for (v1::RankState& s : stopped_states_) *hb->add_ranks() = std::move(s);
  stopped_states_.clear();
  const auto now = Clock::now();
  for (auto it = ranks_.begin(); it != ranks_.end();) {
    const auto& [key, r] = *it;
    if (r->exited && now - r->exited_at > kKeepExited) {
      it = ranks_.erase(it);
      continue;
    }
    v1::RankState* s = hb->add_ranks();
    s->set_job_id(std::get<0>(key));
    s->set_attempt(std::get<1>(key));
    s->set_rank(std::get<2>(key));
    s->set_device(r->device);
    s->set_phase(r->exited ? v1::RankState::EXITED : v1::RankState::RUNNING);
    if (r->exited) {
      s->set_exit_code(r->status.exited ? r->status.code : 0);
      s->set_signal(r->status.signal);
      s->set_log_tail(r->log_tail);
    }
    if (!r->exited && r->liveness.is_object()) {
      s->set_live_time_ms(r->liveness.value("time_ms", int64_t{0}));
      s->set_live_step(r->liveness.value("step", int64_t{0}));
      const auto seq = r->liveness.find("seq");
      if (seq != r->liveness.end() && seq->is_object()) {
        for (const auto& [group, n] : seq->items()) {
          if (n.is_number_integer()) (*s->mutable_collective_seq())[group] = n.get<int64_t>();
        }
      }
    }
    if (r->has_progress) *hb->add_progress() = r->progress;
    ++it;
  }
}

std::vector<RankSnapshot> RankSupervisor::Running() {
  std::lock_guard<std::mutex> lock(mu_);
  PollLocked();
  std::vector<RankSnapshot> out;
  for (const auto& [key, r] : ranks_) {
    if (r->exited) continue;
    RankSnapshot s = r->metrics;
    s.pid = r->process->pid();
    if (r->liveness.is_object()) {
      const auto stats = r->liveness.find("stats");
      if (stats != r->liveness.end() && stats->is_object()) s.stats_json = stats->dump();
      const auto seq = r->liveness.find("seq");
      if (seq != r->liveness.end() && seq->is_object()) {
        for (const auto& [group, n] : seq->items()) {
          if (n.is_number_integer()) s.collective_seq[group] = n.get<int64_t>();
        }
      }
    }
    s.has_progress = r->has_progress;
    s.progress = r->progress;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<v1::RankState> RankSupervisor::StopMatching(const std::string& job_id, int attempt,
                                                        std::chrono::milliseconds grace) {
  auto matches = [&](const Key& k) {
    return (job_id.empty() || std::get<0>(k) == job_id) &&
           (attempt == 0 || std::get<1>(k) == attempt);
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    PollLocked();
    for (auto& [key, r] : ranks_) {
      if (matches(key) && !r->exited) r->process->Signal(SIGTERM);
    }
  }
  const auto deadline = Clock::now() + grace;
  bool killed = false;
  for (;;) {
    std::lock_guard<std::mutex> lock(mu_);
    PollLocked();
    bool running = false;
    for (auto& [key, r] : ranks_) running |= matches(key) && !r->exited;
    if (!running) break;
    if (!killed && Clock::now() >= deadline) {
      for (auto& [key, r] : ranks_) {
        if (matches(key) && !r->exited) r->process->Signal(SIGKILL);
      }
      killed = true;
    }
    mu_.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    mu_.lock();
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::RankState> out;
  for (auto it = ranks_.begin(); it != ranks_.end();) {
    if (!matches(it->first)) {
      ++it;
      continue;
    }
    v1::RankState s;
    s.set_job_id(std::get<0>(it->first));
    s.set_attempt(std::get<1>(it->first));
    s.set_rank(std::get<2>(it->first));
    s.set_device(it->second->device);
    s.set_phase(v1::RankState::EXITED);
    s.set_exit_code(it->second->status.exited ? it->second->status.code : 0);
    s.set_signal(it->second->status.signal);
    stopped_states_.push_back(s);
    out.push_back(std::move(s));
    if (it->second->has_progress) stopped_progress_.push_back(it->second->progress);
    it = ranks_.erase(it);
  }
  return out;
}

std::vector<v1::RankState> RankSupervisor::Stop(const std::string& job_id, int attempt,
                                                std::chrono::milliseconds grace) {
  return StopMatching(job_id, attempt, grace);
}

std::vector<v1::RankState> RankSupervisor::StopAll(std::chrono::milliseconds grace) {
  return StopMatching("", 0, grace);
}

absl::StatusOr<v1::ReadLogResponse> RankSupervisor::ReadLog(const v1::ReadLogRequest& req) {
  const std::string path =
      absl::StrCat(AttemptDir(req.job_id(), req.attempt()), "/rank-", req.rank(), ".log");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("no log for rank ", req.rank(), " of job ",
                                            req.job_id(), " attempt ", req.attempt(),
                                            " on this worker (", path, ")"));
  }
  const int64_t size = in.tellg();
  int64_t offset = req.offset() < 0 ? std::max<int64_t>(0, size + req.offset()) : req.offset();
  offset = std::min(offset, size);
  const int64_t n = std::min<int64_t>(
      size - offset, req.max_bytes() > 0 ? std::min(req.max_bytes(), kMaxLogRead) : kMaxLogRead);
  std::string data(static_cast<size_t>(n), '\0');
  in.seekg(offset);
  in.read(data.data(), n);
  v1::ReadLogResponse response;
  response.set_data(std::move(data));
  response.set_next_offset(offset + n);
  response.set_size(size);
  return response;
}

}  // namespace spindle::worker
