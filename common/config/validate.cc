#include "common/config/validate.h"

#include <set>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config/schema.h"
#include "common/config/units.h"
#include "common/layout/head_plan.h"

namespace spindle::config {
namespace {

// Collects errors; a rule skips itself when a field it reads already failed
// its own range check, so one mistake is reported once.
class Errors {
 public:
  explicit Errors(std::vector<FieldError>* out) : out_(out) {}
  void Add(std::string path, std::string message) {
    failed_.insert(path);
    out_->push_back({std::move(path), std::move(message)});
  }
  bool Ok(std::initializer_list<std::string_view> paths) const {
    for (std::string_view p : paths) {
      if (failed_.count(std::string(p))) return false;
    }
    return true;
  }

 private:
  std::vector<FieldError>* out_;
  std::set<std::string> failed_;
};

std::string Divisors(int n) {
  std::vector<int> d;
  for (int i = 1; i <= n; ++i) {
    if (n % i == 0) d.push_back(i);
  }
  return absl::StrJoin(d, ", ");
}

void CheckModel(const JobSpec& s, Errors& e) {
  const ModelSpec& m = s.model;
  if (e.Ok({"model.hidden_size", "model.num_attention_heads"})) {
    if (m.hidden_size % m.num_attention_heads != 0) {
      e.Add("model.hidden_size",
            absl::StrCat(m.hidden_size, " is not divisible by num_attention_heads ",
                         m.num_attention_heads,
                         " (head_dim = hidden_size / num_attention_heads); "
                         "use a multiple of ",
                         m.num_attention_heads));
    } else if ((m.hidden_size / m.num_attention_heads) % 2 != 0) {
      e.Add("model.hidden_size",
            absl::StrCat("head_dim = hidden_size / num_attention_heads = ", m.hidden_size, " / ",
                         m.num_attention_heads, " = ", m.hidden_size / m.num_attention_heads,
                         " must be even for RoPE"));
    }
  }
  if (e.Ok({"model.num_attention_heads", "model.num_key_value_heads"}) &&
      m.num_attention_heads % m.num_key_value_heads != 0) {
    e.Add("model.num_key_value_heads",
          absl::StrCat(m.num_key_value_heads, " does not divide num_attention_heads ",
                       m.num_attention_heads, "; use one of ", Divisors(m.num_attention_heads)));
  }
  if (e.Ok({"model.max_position_embeddings", "data.seq_len"}) &&
      m.max_position_embeddings < s.data.seq_len) {
    e.Add("model.max_position_embeddings",
          absl::StrCat(m.max_position_embeddings, " is below data.seq_len ", s.data.seq_len,
                       "; raise it or leave it out (default max(seq_len, 2048))"));
  }
  if (m.init.from == InitFrom::kHf && m.init.path.empty()) {
    e.Add("model.init.path",
          "required with init.from: hf: a directory with config.json and model.safetensors");
  } else if (m.init.from != InitFrom::kHf && !m.init.path.empty()) {
    e.Add("model.init.path", "only used with init.from: hf; remove it or set init.from: hf");
  }
}

void CheckData(const JobSpec& s, Errors& e) {
  const DataSpec& d = s.data;
  const char* source = EnumName(d.source);
  if (d.source != DataSource::kSynthetic && d.path.empty()) {
    e.Add("data.path", absl::StrCat("required for data.source: ", source,
                                    d.source == DataSource::kTokens
                                        ? " (a file of token ids, see data.dtype)"
                                        : " (a UTF-8 text file; tokens are its bytes)"));
  } else if (d.source == DataSource::kSynthetic && !d.path.empty()) {
    e.Add("data.path",
          "must be empty for data.source: synthetic (data.task generates the data); remove it or "
          "set data.source: tokens or text");
  }
  if (d.source == DataSource::kText && e.Ok({"model.vocab_size"}) && s.model.vocab_size < 256) {
    e.Add("model.vocab_size", absl::StrCat("data.source: text uses byte tokens, so vocab_size must "
                                           "be >= 256, got ",
                                           s.model.vocab_size));
  }
  if (d.source == DataSource::kTokens && d.dtype == TokenDtype::kUint16 &&
      s.model.vocab_size > 65536) {
    e.Add("data.dtype", absl::StrCat("uint16 holds token ids below 65536 but model.vocab_size is ",
                                     s.model.vocab_size, "; use dtype: uint32"));
  }
  if (d.global_batch_seqs > 0 &&
      e.Ok({"data.global_batch_seqs", "data.micro_batch_seqs", "parallel.dp"})) {
    const bool dp_fixed = s.parallel.dp != kAuto;
    const int64_t unit = int64_t{dp_fixed ? s.parallel.dp : 1} * d.micro_batch_seqs;
    if (d.global_batch_seqs % unit != 0) {
      e.Add("data.global_batch_seqs",
            absl::StrCat(d.global_batch_seqs, " is not divisible by ",
                         dp_fixed ? absl::StrCat("parallel.dp × data.micro_batch_seqs = ",
                                                 s.parallel.dp, " × ", d.micro_batch_seqs, " = ")
                                  : "data.micro_batch_seqs ",
                         unit, "; use a multiple of ", unit, " such as ",
                         std::max<int64_t>(unit, d.global_batch_seqs / unit * unit),
                         " (gradient accumulation steps = global_batch_seqs / ", unit, ")"));
    }
  }
}

void CheckParallel(const JobSpec& s, Errors& e) {
  const ParallelSpec& p = s.parallel;
  const ModelSpec& m = s.model;
  if (p.sp.ulysses != kAuto &&
      e.Ok({"parallel.sp.ulysses", "model.num_attention_heads", "model.num_key_value_heads"}) &&
      m.num_attention_heads % m.num_key_value_heads == 0) {
    const std::string field = "parallel.sp.ulysses";
    auto plan = layout::PlanHeads(m.num_attention_heads, m.num_key_value_heads, p.sp.ulysses,
                                  field.c_str());
    if (!plan.ok()) {
      std::string message(plan.status().message());
      const std::string prefix = field + ": ";
      if (message.compare(0, prefix.size(), prefix) == 0) message.erase(0, prefix.size());
      e.Add(field, message);
    }
  }
  if (p.sp.schedule == layout::RingSchedule::kLightSeq) {
    if (p.sp.layout != layout::LayoutKind::kContiguous) {
      e.Add("parallel.sp.schedule",
            absl::StrCat("lightseq balances causal work itself and needs parallel.sp.layout: "
                         "contiguous, got ",
                         layout::LayoutName(p.sp.layout),
                         "; set layout: contiguous or schedule: ring"));
    }
    if (p.sp.ring != kAuto && p.sp.ring != 1 && p.sp.ring % 2 != 0 && e.Ok({"parallel.sp.ring"})) {
      e.Add("parallel.sp.ring", absl::StrCat("lightseq needs an even ring degree (or 1), got ",
                                             p.sp.ring, "; or use schedule: ring"));
    }
  }
  const ResourcesSpec& r = s.resources;
  if (!e.Ok({"resources.nodes.min", "resources.nodes.max", "resources.devices_per_node",
             "parallel.dp", "parallel.sp.ulysses", "parallel.sp.ring"})) {
    return;
  }
  if (r.nodes.min > r.nodes.max) {
    e.Add("resources.nodes.max",
          absl::StrCat(r.nodes.max, " is below resources.nodes.min ", r.nodes.min));
    return;
  }
  if (p.dp != kAuto && p.sp.ulysses != kAuto && p.sp.ring != kAuto && r.devices_per_node != kAuto) {
    const int64_t ranks = int64_t{p.dp} * p.sp.ulysses * p.sp.ring;
    const int64_t per_node = r.devices_per_node;
    if (ranks % per_node != 0 || ranks / per_node < r.nodes.min || ranks / per_node > r.nodes.max) {
      e.Add("parallel", absl::StrCat("dp × sp.ulysses × sp.ring = ", p.dp, " × ", p.sp.ulysses,
                                     " × ", p.sp.ring, " = ", ranks, " ranks, but resources give ",
                                     r.nodes.min, "..", r.nodes.max, " nodes × ", per_node,
                                     " devices_per_node; make them match or set a degree to auto"));
    }
  }
}

void CheckTrain(const JobSpec& s, Errors& e) {
  const TrainSpec& t = s.train;
  if (!e.Ok({"train.max_steps", "train.max_tokens"})) return;
  if (t.max_steps == 0 && t.max_tokens == 0) {
    e.Add("train.max_steps", "set exactly one of train.max_steps or train.max_tokens");
  } else if (t.max_steps > 0 && t.max_tokens > 0) {
    e.Add("train.max_tokens", "set exactly one of train.max_steps or train.max_tokens; remove one");
  }
  if (t.max_steps > 0 && t.schedule.warmup_steps > t.max_steps &&
      e.Ok({"train.schedule.warmup_steps"})) {
    e.Add("train.schedule.warmup_steps",
          absl::StrCat(t.schedule.warmup_steps, " exceeds train.max_steps ", t.max_steps,
                       ": the learning rate would never reach train.optimizer.lr"));
  }
}

void CheckFaultTolerance(const JobSpec& s, Errors& e) {
  const FaultToleranceSpec& f = s.fault_tolerance;
  if (!e.Ok({"fault_tolerance.heartbeat.interval", "fault_tolerance.heartbeat.timeout",
             "fault_tolerance.hang_timeout"})) {
    return;
  }
  if (f.heartbeat.timeout <= f.heartbeat.interval) {
    e.Add("fault_tolerance.heartbeat.timeout",
          absl::StrCat(FormatDuration(f.heartbeat.timeout),
                       " must be longer than heartbeat.interval ",
                       FormatDuration(f.heartbeat.interval),
                       " (a worker is lost after missing heartbeats for this long); e.g. ",
                       FormatDuration(6 * f.heartbeat.interval)));
  }
  if (f.hang_timeout <= f.heartbeat.interval) {
    e.Add("fault_tolerance.hang_timeout",
          absl::StrCat(FormatDuration(f.hang_timeout), " must be longer than heartbeat.interval ",
                       FormatDuration(f.heartbeat.interval),
                       " (step progress arrives with heartbeats)"));
  }
}

}  // namespace

std::vector<FieldError> CheckJobSpec(const JobSpec& spec) {
  std::vector<FieldError> out;
  Errors errors(&out);
  for (const schema::Field& f : schema::Fields()) {
    if (!f.check) continue;
    const absl::Status status = f.check(spec);
    if (!status.ok()) errors.Add(schema::DisplayPath(f.path), std::string(status.message()));
  }
  CheckModel(spec, errors);
  CheckData(spec, errors);
  CheckParallel(spec, errors);
  CheckTrain(spec, errors);
  CheckFaultTolerance(spec, errors);
  return out;
}

absl::Status ValidateJobSpec(const JobSpec& spec) {
  const std::vector<FieldError> errors = CheckJobSpec(spec);
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrJoin(errors, "\n", [](std::string* out, const FieldError& e) {
        absl::StrAppend(out, e.path, ": ", e.message);
      }));
}

}  // namespace spindle::config
