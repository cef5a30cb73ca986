#include "worker/daemon/worker_metrics.h"

#include <sys/statvfs.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "common/metrics/process_metrics.h"
#include "nlohmann/json.hpp"

namespace spindle::worker {
namespace {

using metrics::Labels;

Labels JobRank(const RankSnapshot& r) {
  return {{"job_id", r.job_id}, {"rank", absl::StrCat(r.rank)}};
}

const v1::Device* DeviceOf(const std::vector<v1::Device>& devices, int index) {
  for (const v1::Device& d : devices) {
    if (d.index() == index) return &d;
  }
  return nullptr;
}

double Number(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace

void AddWorkerMetrics(const std::string& worker_id, const std::vector<v1::Device>& devices,
                      const std::vector<RankSnapshot>& ranks, metrics::Families* f) {
  struct statvfs shm {};
  if (statvfs("/dev/shm", &shm) == 0) {
    f->Gauge("spindle_worker_shm_bytes", "Size of /dev/shm (NCCL and Gloo shared memory).")
        .Add({}, static_cast<double>(shm.f_blocks) * shm.f_frsize);
  }
  std::vector<nlohmann::json> stats;
  for (const RankSnapshot& r : ranks) {
    stats.push_back(r.stats_json.empty()
                        ? nlohmann::json::object()
                        : nlohmann::json::parse(r.stats_json, nullptr, /*allow_exceptions=*/false));
    if (!stats.back().is_object()) stats.back() = nlohmann::json::object();
  }

  f->Gauge("spindle_rank_info", "Always 1 per running rank; gpu_uuid joins GPU exporter series.");
  for (const RankSnapshot& r : ranks) {
    const v1::Device* d = DeviceOf(devices, r.device);
    Labels l = JobRank(r);
    l.insert(l.end(), {{"worker", worker_id},
                       {"device", absl::StrCat(r.device)},
                       {"gpu_uuid", d == nullptr ? "" : d->uuid()}});
    f->Add(l, 1);
  }

  // Job-level figures from rank 0's step records.
  f->Gauge("spindle_train_step", "Last finished optimizer step (goes back on a resume).");
  for (const RankSnapshot& r : ranks) {
    if (r.has_progress) f->Add({{"job_id", r.job_id}}, r.progress.step());
  }
  f->Gauge("spindle_train_loss", "Mean next-token loss of the last step.");
  for (const RankSnapshot& r : ranks) {
    if (r.has_progress) f->Add({{"job_id", r.job_id}}, r.progress.loss());
  }
  f->Gauge("spindle_train_grad_norm", "Global gradient L2 norm of the last step, before clipping.");
  for (const RankSnapshot& r : ranks) {
    if (r.has_progress) f->Add({{"job_id", r.job_id}}, r.progress.grad_norm());
  }
  f->Gauge("spindle_train_learning_rate", "Learning rate of the last step.");
  for (const RankSnapshot& r : ranks) {
    if (r.has_progress) f->Add({{"job_id", r.job_id}}, r.progress.learning_rate());
  }
  f->Histogram("spindle_train_step_duration_seconds", "Rank 0's wall time per optimizer step.");
  for (const RankSnapshot& r : ranks) {
    if (r.step_seconds.count > 0) f->Add({{"job_id", r.job_id}}, r.step_seconds);
  }
  f->Gauge("spindle_checkpoint_last_step", "Step of the last committed checkpoint.");
  for (const RankSnapshot& r : ranks) {
    if (r.checkpoint_step >= 0) f->Add({{"job_id", r.job_id}}, r.checkpoint_step);
  }
  f->Gauge("spindle_checkpoint_last_success_timestamp_seconds",
           "When the last checkpoint was committed, unix seconds.");
  for (const RankSnapshot& r : ranks) {
    if (r.checkpoint_step >= 0) f->Add({{"job_id", r.job_id}}, r.checkpoint_time);
  }
  f->Histogram("spindle_checkpoint_duration_seconds", "Checkpoint save time on rank 0.");
  for (const RankSnapshot& r : ranks) {
    if (r.checkpoint_seconds.count > 0) f->Add({{"job_id", r.job_id}}, r.checkpoint_seconds);
  }

  // Per-rank counters from the ranks' cumulative figures.
  f->Counter("spindle_train_steps_total", "Optimizer steps this rank process finished.");
  for (size_t i = 0; i < ranks.size(); ++i) {
    f->Add(JobRank(ranks[i]), Number(stats[i], "steps"));
  }
  f->Counter("spindle_train_tokens_total",
             "This rank's share of the tokens trained (the sum over ranks is the job's).");
  for (size_t i = 0; i < ranks.size(); ++i) {
    f->Add(JobRank(ranks[i]), Number(stats[i], "tokens") / std::max(1, ranks[i].world));
  }
  f->Counter("spindle_train_model_flops_total",
             "This rank's share of the model FLOPs trained (Megatron count).");
  for (size_t i = 0; i < ranks.size(); ++i) {
    f->Add(JobRank(ranks[i]), Number(stats[i], "tokens") / std::max(1, ranks[i].world) *
                                  ranks[i].flops_per_token);
  }
  f->Counter("spindle_train_phase_seconds_total", "Where this rank's time went, by phase.");
  for (size_t i = 0; i < ranks.size(); ++i) {
    const auto phases = stats[i].find("phases");
    if (phases == stats[i].end() || !phases->is_object()) continue;
    for (const auto& [phase, seconds] : phases->items()) {
      Labels l = JobRank(ranks[i]);
      l.emplace_back("phase", phase);
      f->Add(l, seconds.is_number() ? seconds.get<double>() : 0.0);
    }
  }
  f->Gauge("spindle_device_peak_flops", "Peak FLOP/s of the rank's device at the job's precision.");
  for (const RankSnapshot& r : ranks) {
    if (r.peak_flops <= 0) continue;
    Labels l = JobRank(r);
    l.emplace_back("dtype", r.dtype);
    f->Add(l, r.peak_flops);
  }

  // Communication: bytes sent and transfer waits, by op and group.
  std::vector<std::pair<Labels, double>> bytes, waits;
  std::vector<double> exposed(ranks.size(), 0.0);
  for (size_t i = 0; i < ranks.size(); ++i) {
    const auto comm = stats[i].find("comm");
    if (comm == stats[i].end() || !comm->is_object()) continue;
    for (const auto& [group, ops] : comm->items()) {
      if (!ops.is_object()) continue;
      for (const auto& [op, c] : ops.items()) {
        Labels l = JobRank(ranks[i]);
        l.insert(l.end(), {{"op", op}, {"group", group}});
        bytes.emplace_back(l, Number(c, "bytes"));
        waits.emplace_back(l, Number(c, "wait_seconds"));
        // The gradient all-reduce runs on its own thread behind backward;
        // only its grad_sync wait (a phase) stalls training.
        if (group != "grad") exposed[i] += Number(c, "wait_seconds");
      }
    }
    const auto phases = stats[i].find("phases");
    if (phases != stats[i].end() && phases->is_object()) exposed[i] += Number(*phases, "grad_sync");
  }
  f->Counter("spindle_comm_bytes_total", "Bytes this rank sent, by op and process group.");
  for (const auto& [l, v] : bytes) f->Add(l, v);
  f->Counter("spindle_comm_seconds_total",
             "Time this rank waited on transfers, by op and process group.");
  for (const auto& [l, v] : waits) f->Add(l, v);
  f->Counter("spindle_comm_exposed_seconds_total",
             "Communication time the training thread waited on (not hidden behind compute).");
  for (size_t i = 0; i < ranks.size(); ++i) {
    if (!stats[i].empty()) f->Add(JobRank(ranks[i]), exposed[i]);
  }
  f->Gauge("spindle_collective_seq", "Collectives this rank entered in the process group.");
  for (const RankSnapshot& r : ranks) {
    for (const auto& [group, n] : r.collective_seq) {
      Labels l = JobRank(r);
      l.emplace_back("group", group);
      f->Add(l, static_cast<double>(n));
    }
  }

  // Memory: CPU slots report the rank process's resident set.
  std::vector<std::pair<Labels, std::pair<double, double>>> memory;
  for (const RankSnapshot& r : ranks) {
    double rss = 0, peak = 0;
    if (metrics::ReadProcessMemory(r.pid, &rss, &peak)) memory.push_back({JobRank(r), {rss, peak}});
  }
  f->Gauge("spindle_device_memory_allocated_bytes", "Memory the rank holds on its device.");
  for (const auto& [l, m] : memory) f->Add(l, m.first);
  f->Gauge("spindle_device_memory_peak_allocated_bytes", "The most it has held.");
  for (const auto& [l, m] : memory) f->Add(l, m.second);
  f->Gauge("spindle_device_memory_total_bytes", "Memory of the rank's device (or slot).");
  for (const RankSnapshot& r : ranks) {
    const v1::Device* d = DeviceOf(devices, r.device);
    if (d != nullptr && d->memory_bytes() > 0) f->Add(JobRank(r), d->memory_bytes());
  }
}

}  // namespace spindle::worker
