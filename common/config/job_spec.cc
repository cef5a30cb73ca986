#include "common/config/job_spec.h"

#include <tuple>

namespace spindle::config {

#define SPINDLE_ENUM_NAMES(E, ...)                               \
  template <>                                                    \
  absl::Span<const char* const> EnumNames<E>() {                 \
    static constexpr const char* const kNames[] = {__VA_ARGS__}; \
    return kNames;                                               \
  }

// In the order of the enumerators.
SPINDLE_ENUM_NAMES(Arch, "llama")
SPINDLE_ENUM_NAMES(InitFrom, "random", "hf")
SPINDLE_ENUM_NAMES(DataSource, "synthetic", "tokens", "text")
SPINDLE_ENUM_NAMES(TokenDtype, "uint16", "uint32")
SPINDLE_ENUM_NAMES(SyntheticTask, "copy")
SPINDLE_ENUM_NAMES(Device, "cpu", "cuda")
SPINDLE_ENUM_NAMES(Precision, "fp32", "bf16")
SPINDLE_ENUM_NAMES(ActivationCheckpointing, "none", "full", "attention")
SPINDLE_ENUM_NAMES(OptimizerName, "adamw")
SPINDLE_ENUM_NAMES(LrDecay, "cosine", "constant", "linear")
SPINDLE_ENUM_NAMES(ResumeMode, "auto", "never", "path")
SPINDLE_ENUM_NAMES(ExportFormat, "safetensors")
SPINDLE_ENUM_NAMES(ExportNaming, "hf-llama")

#undef SPINDLE_ENUM_NAMES

namespace {

// Each Tie lists every field of its struct; a field missing here would make
// parse(emit(spec)) == spec vacuous for it.
auto Tie(const Metadata& m) { return std::tie(m.name, m.labels); }
auto Tie(const ModelInit& i) { return std::tie(i.from, i.seed, i.path); }
auto Tie(const ModelSpec& m) {
  return std::make_tuple(m.preset, m.arch, m.hidden_size, m.intermediate_size, m.num_hidden_layers,
                         m.num_attention_heads, m.num_key_value_heads, m.vocab_size, m.rope_theta,
                         m.rms_norm_eps, m.max_position_embeddings, m.tie_word_embeddings,
                         Tie(m.init));
}
auto Tie(const DataSpec& d) {
  return std::tie(d.source, d.path, d.dtype, d.task, d.seq_len, d.global_batch_seqs,
                  d.micro_batch_seqs, d.seed);
}
auto Tie(const ParallelSpec& p) {
  return std::tie(p.dp, p.sp.ulysses, p.sp.ring, p.sp.layout, p.sp.schedule);
}
auto Tie(const ResourcesSpec& r) {
  return std::tie(r.device, r.nodes.min, r.nodes.max, r.devices_per_node);
}
auto Tie(const TrainSpec& t) {
  const OptimizerSpec& o = t.optimizer;
  const LrScheduleSpec& s = t.schedule;
  return std::make_tuple(t.max_steps, t.max_tokens, t.precision, t.activation_checkpointing, o.name,
                         o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.sharded, s.warmup_steps, s.decay,
                         s.min_lr_ratio, t.grad_clip, t.log_every_steps);
}
auto Tie(const CheckpointSpec& c) {
  return std::tie(c.dir, c.every.steps, c.every.time, c.keep_last, c.resume.mode, c.resume.path,
                  c.export_spec.dir, c.export_spec.format, c.export_spec.naming);
}
auto Tie(const FaultToleranceSpec& f) {
  return std::tie(f.max_restarts, f.backoff, f.heartbeat.interval, f.heartbeat.timeout,
                  f.collective_timeout, f.hang_timeout);
}

}  // namespace

bool operator==(const JobSpec& a, const JobSpec& b) {
  return Tie(a.metadata) == Tie(b.metadata) && Tie(a.model) == Tie(b.model) &&
         Tie(a.data) == Tie(b.data) && Tie(a.parallel) == Tie(b.parallel) &&
         Tie(a.resources) == Tie(b.resources) && Tie(a.train) == Tie(b.train) &&
         Tie(a.checkpoint) == Tie(b.checkpoint) && Tie(a.fault_tolerance) == Tie(b.fault_tolerance);
}

}  // namespace spindle::config
