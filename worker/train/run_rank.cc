#include "worker/train/run_rank.h"

#include <string.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/layout/flops.h"
#include "common/rendezvous/grpc_store.h"
#include "common/status.h"
#include "nlohmann/json.hpp"
#include "worker/model/hf_weights.h"
#include "worker/runtime/threads.h"
#if SPINDLE_NCCL_GROUPS
#include <c10/cuda/CUDAStream.h>

#include "worker/sp/nccl_groups.h"
#endif
#include "worker/train/job_options.h"
#include "worker/train/liveness.h"
#include "worker/train/rank_device.h"
#include "worker/train/rank_stats.h"
#include "worker/train/step_end.h"
#include "worker/train/train_checkpoint.h"

namespace spindle::train {
namespace {

using Clock = std::chrono::steady_clock;

layout::ModelShape ShapeOf(const model::LlamaConfig& c) {
  return {c.hidden_size,         c.intermediate_size,   c.num_hidden_layers,
          c.num_attention_heads, c.num_key_value_heads, c.vocab_size};
}

std::string ProgressLine(const StepStats& s, int64_t total, const RankPlan& plan, double peak) {
  const double tokens_per_s = s.tokens / s.seconds;
  const layout::ModelShape shape = ShapeOf(plan.trainer.model);
  const int64_t seq = plan.trainer.seq_len;
  std::string line = absl::StrFormat(
      "step %*d/%d  loss %.4f  grad_norm %.3f  lr %.2e  %.0f tok/s  %.1f GFLOP/s/rank",
      static_cast<int>(absl::StrCat(total).size()), s.step, total, s.loss, s.grad_norm, s.lr,
      tokens_per_s,
      layout::MegatronFlopsPerToken(shape, seq) * tokens_per_s / plan.mesh.world() / 1e9);
  if (peak > 0) {
    const double world_peak = peak * plan.mesh.world();
    absl::StrAppendFormat(
        &line, "  MFU %.1f%% (PaLM %.1f%%)",
        100 * layout::MegatronFlopsPerToken(shape, seq) * tokens_per_s / world_peak,
        100 * layout::PalmFlopsPerToken(shape, seq) * tokens_per_s / world_peak);
  }
  return line;
}

// Gloo between CPU ranks; NCCL between GPU ranks, whose control values (the
// loss, checkpoint flags) the NCCL communicator stages through the device.
sp::GroupFactory GroupFactoryFor(const c10::Device& device, gloo::rendezvous::Store& store,
                                 int rank) {
#if SPINDLE_NCCL_GROUPS
  if (device.is_cuda()) {
    comm::NcclOptions nccl;
    nccl.device = device.index();
    // Transfers order against libtorch's current stream, wherever the caller
    // set it, rather than assuming the default one.
    nccl.compute_stream = [index = device.index()] {
      return static_cast<void*>(c10::cuda::getCurrentCUDAStream(index).stream());
    };
    return sp::NcclGroupFactory(store, rank, nccl);
  }
#endif
  SPINDLE_CHECK(device.is_cpu()) << "no process groups for device " << device.str();
  // Peers on other hosts reach this rank at its worker's advertised address
  // (or a named interface's); the default keeps every group on this host.
  comm::GlooOptions gloo;
  if (const char* host = std::getenv(kRankHostEnv); host != nullptr && *host != '\0') {
    gloo.hostname = host;
  }
  if (const char* iface = std::getenv(kRankIfaceEnv); iface != nullptr) gloo.iface = iface;
  return sp::GlooGroupFactory(store, rank, gloo);
}

}  // namespace

absl::StatusOr<RunSummary> RunRank(const config::JobSpec& spec, const RankRunOptions& options,
                                   std::ostream& progress) {
  const bool leader = options.rank == 0;
  SPINDLE_ASSIGN_OR_RETURN(RankPlan plan, PlanRank(spec, options.world));
  SPINDLE_ASSIGN_OR_RETURN(plan.trainer.device,
                           SelectRankDevice(spec.resources.device, ProbeDeviceSupport()));
  SPINDLE_ASSIGN_OR_RETURN(std::shared_ptr<const data::TokenSource> source,
                           data::OpenTokenSource(TokenSourceOptionsOf(spec)));
  plan.trainer.data = [source, seq_len = spec.data.seq_len](int64_t index,
                                                            absl::Span<int64_t> out) {
    return source->Sequence(index, seq_len, out);
  };

  const auto pool =
      runtime::ApplyThreads(runtime::PlanThreads(0, std::max(1, options.local_ranks)));
  SPINDLE_ASSIGN_OR_RETURN(
      auto store,
      rendezvous::MakeStore(options.rendezvous, spec.fault_tolerance.collective_timeout));
  const std::chrono::milliseconds timeout = spec.fault_tolerance.collective_timeout;
  const sp::GroupFactory factory = GroupFactoryFor(plan.trainer.device, *store, options.rank);
  SPINDLE_ASSIGN_OR_RETURN(sp::ProcessGroups groups,
                           sp::BuildProcessGroups(plan.mesh, options.rank, timeout, factory));
  SPINDLE_ASSIGN_OR_RETURN(std::shared_ptr<comm::Communicator> grad_comm,
                           sp::BuildWorldGroup(plan.mesh, options.rank, timeout, factory, "grad"));
  SPINDLE_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> trainer,
                           Trainer::Create(plan.trainer, groups, grad_comm, pool));

  std::atomic<int64_t> done_steps{0};
  // Ulysses and ring before their parents, so a group that is the whole
  // SP group or world is reported under its most specific name.
  const NamedGroups named_groups = {{"ulysses", groups.ulysses}, {"ring", groups.ring},
                                    {"dp", groups.dp},           {"sp", groups.sp},
                                    {"world", groups.world},     {"grad", grad_comm}};
  LivenessWriter liveness(options.liveness_path, named_groups, &done_steps);
  RankStats rank_stats;

  RunSummary summary;
  if (spec.model.init.from == config::InitFrom::kHf) {
    SPINDLE_RETURN_IF_ERROR(trainer->ImportHfWeights(spec.model.init.path));
    if (leader) progress << "initialised from " << spec.model.init.path << "\n";
  }
  const config::CheckpointSpec& ckpt = spec.checkpoint;
  const uint64_t data_seed = static_cast<uint64_t>(spec.data.seed);
  if (ckpt.resume.mode == config::ResumeMode::kAuto && !ckpt.dir.empty()) {
    std::vector<std::string> skipped;
    SPINDLE_ASSIGN_OR_RETURN(auto state, ResumeLatest(*trainer, ckpt.dir, &skipped));
    for (const std::string& why : skipped) progress << "skipped checkpoint: " << why << "\n";
    if (state) summary.resumed_from = state->step;
  } else if (ckpt.resume.mode == config::ResumeMode::kPath) {
    SPINDLE_ASSIGN_OR_RETURN(TrainerState state, LoadCheckpoint(*trainer, ckpt.resume.path));
    summary.resumed_from = state.step;
  }
  if (leader) {
    progress << absl::StrFormat(
        "training %s: %d parameters, mesh dp %d × ulysses %d × ring %d (%s), S %d, "
        "%d seqs/step, %d micro-steps, %d steps, %s on %s",
        spec.metadata.name, plan.trainer.model.NumParameters(), plan.mesh.dp, plan.mesh.ulysses,
        plan.mesh.ring, layout::LayoutName(plan.trainer.layout), plan.trainer.seq_len,
        plan.trainer.global_batch_seqs, trainer->grad_accum(), plan.total_steps,
        config::EnumName(spec.train.precision),
        plan.trainer.device.is_cuda() ? "cuda (NCCL)" : "cpu (Gloo)");
    if (summary.resumed_from >= 0) progress << ", resumed at step " << summary.resumed_from;
    progress << std::endl;
  }

  std::ofstream metrics;
  if (leader && !options.metrics_path.empty()) {
    metrics.open(options.metrics_path, std::ios::app);
    if (!metrics) {
      return absl::InvalidArgumentError(
          absl::StrCat("--metrics ", options.metrics_path, ": cannot open for appending"));
    }
  }
  auto last_checkpoint = Clock::now();
  bool first = true;
  while (trainer->step() < plan.total_steps) {
    SPINDLE_ASSIGN_OR_RETURN(StepStats stats, trainer->Step());
    done_steps = stats.step;
    rank_stats.AddStep(stats);
    if (first) summary.first_loss = stats.loss;
    first = false;
    summary.last_loss = stats.loss;
    const bool last = stats.step == plan.total_steps;
    if (leader && (stats.step % spec.train.log_every_steps == 0 || last)) {
      progress << ProgressLine(stats, plan.total_steps, plan, options.peak_flops_per_rank)
               << std::endl;
    }
    SPINDLE_ASSIGN_OR_RETURN(
        const StepEnd end,
        AgreeOnStepEnd(*groups.world, ckpt, stats.step, last, Clock::now() - last_checkpoint,
                       options.stop_signal ? options.stop_signal() : 0));
    double checkpoint_seconds = 0;
    if (end.checkpoint) {
      const auto save_start = Clock::now();
      SPINDLE_ASSIGN_OR_RETURN(summary.checkpoint,
                               SaveCheckpoint(*trainer, ckpt.dir, data_seed, ckpt.keep_last));
      last_checkpoint = Clock::now();
      checkpoint_seconds = std::chrono::duration<double>(last_checkpoint - save_start).count();
      rank_stats.AddCheckpoint(checkpoint_seconds);
      if (leader) progress << "checkpoint " << summary.checkpoint << std::endl;
    }
    liveness.SetStats(rank_stats.Json(named_groups));
    if (metrics.is_open()) {
      const double unix_seconds =
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      metrics << absl::StrFormat(
          "{\"step\": %d, \"loss\": %.17g, \"grad_norm\": %.17g, \"lr\": %.17g, "
          "\"tokens\": %d, \"seconds\": %.6f, \"time\": %.3f",
          stats.step, stats.loss, stats.grad_norm, stats.lr, stats.tokens, stats.seconds,
          unix_seconds);
      if (end.checkpoint) {
        metrics << ", \"checkpoint\": " << nlohmann::json(summary.checkpoint).dump()
                << absl::StrFormat(", \"checkpoint_seconds\": %.6f", checkpoint_seconds);
      }
      metrics << "}" << std::endl;
    }
    if (end.stop != 0) {
      if (leader) {
        const char* name = sigabbrev_np(end.stop);
        progress << "stopped at step " << stats.step << " by "
                 << (name ? absl::StrCat("SIG", name) : absl::StrCat("signal ", end.stop))
                 << " after committing checkpoint " << summary.checkpoint << std::endl;
      }
      summary.steps = stats.step;
      summary.stopped_by = end.stop;
      return summary;
    }
  }
  summary.steps = trainer->step();
  if (!ckpt.export_spec.dir.empty()) {
    // Full precision: a bf16 run exports its fp32 masters (collective).
    SPINDLE_ASSIGN_OR_RETURN(model::NamedTensors weights, trainer->optimizer().GatherWeights());
    absl::Status exported = leader
                                ? model::ExportHf(plan.trainer.model, weights, ckpt.export_spec.dir)
                                : absl::OkStatus();
    int64_t ok = exported.ok();
    SPINDLE_RETURN_IF_ERROR(groups.world->Broadcast(&ok, sizeof(ok), 0));
    SPINDLE_RETURN_IF_ERROR(exported);
    if (!ok) return absl::InternalError("rank 0 failed to export the weights; see its log");
    summary.exported = ckpt.export_spec.dir;
  }
  return summary;
}

}  // namespace spindle::train
