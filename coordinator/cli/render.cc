#include "coordinator/cli/render.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/config/presets.h"
#include "common/layout/sequence_layout.h"
#include "coordinator/cli/table.h"
#include "google/protobuf/util/json_util.h"

namespace spindle::cli {
namespace v1 = spindle::v1;

namespace {

// Multi-line text (a root cause with its "nearest change" line) with every
// line after the first indented to sit under the first.
std::string Indented(absl::string_view text, int indent) {
  return absl::StrReplaceAll(text, {{"\n", absl::StrCat("\n", std::string(indent, ' '))}});
}

}  // namespace

std::string StateName(v1::JobState state) {
  if (state == v1::JOB_STATE_UNSPECIFIED || !v1::JobState_IsValid(state)) return "UNKNOWN";
  return v1::JobState_Name(state);
}

bool IsTerminal(v1::JobState state) {
  return state == v1::SUCCEEDED || state == v1::FAILED || state == v1::CANCELLED;
}

std::string FormatEta(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  auto s = static_cast<int64_t>(std::llround(seconds));
  if (s < 3600) return absl::StrFormat("%d:%02d", s / 60, s % 60);
  return absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
}

std::string FormatCount(double n) {
  if (!std::isfinite(n)) return "?";
  double a = std::fabs(n);
  if (a < 999.5) return absl::StrFormat("%.0f", n);
  if (a < 999.95e3) return absl::StrFormat("%.1fk", n / 1e3);
  if (a < 999.95e6) return absl::StrFormat("%.1fM", n / 1e6);
  return absl::StrFormat("%.1fG", n / 1e9);
}

std::string FormatPercent(double ratio) { return absl::StrFormat("%.1f%%", ratio * 100); }

std::string FormatBytes(int64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (std::fabs(v) >= 1024 && unit < 5) {
    v /= 1024;
    ++unit;
  }
  if (unit == 0) return absl::StrCat(bytes, " B");
  return absl::StrFormat("%.1f %s", v, kUnits[unit]);
}

std::string ProgressLine(const v1::Progress& p, int bar_width) {
  std::string line;
  if (p.total_steps() > 0) {
    double done = std::clamp(static_cast<double>(p.step()) / p.total_steps(), 0.0, 1.0);
    int filled = static_cast<int>(done * bar_width);
    line = absl::StrCat("[", std::string(filled, '#'), std::string(bar_width - filled, '.'),
                        "] step ", p.step(), "/", p.total_steps());
  } else {
    line = absl::StrCat("step ", p.step());
  }
  if (p.step() > 0) absl::StrAppend(&line, absl::StrFormat("  loss %.4f", p.loss()));
  if (p.tokens_per_second() > 0) {
    absl::StrAppend(&line, "  ", FormatCount(p.tokens_per_second()), " tok/s");
  }
  if (p.mfu() > 0) absl::StrAppend(&line, "  MFU ", FormatPercent(p.mfu()));
  if (p.eta_seconds() > 0 && p.step() < p.total_steps()) {
    absl::StrAppend(&line, "  ETA ", FormatEta(p.eta_seconds()));
  }
  return line;
}

std::string EventLine(const v1::JobEvent& e, absl::string_view job_id, absl::TimeZone tz) {
  std::string line = absl::StrCat(
      absl::FormatTime("%H:%M:%S", absl::FromUnixMillis(e.time_ms()), tz), " job ", job_id);
  if (e.kind() == v1::JobEvent::STATE) absl::StrAppend(&line, " ", StateName(e.state()));
  if (e.attempt() > 0) absl::StrAppend(&line, " (attempt ", e.attempt(), ")");
  if (!e.message().empty()) absl::StrAppend(&line, ": ", Indented(e.message(), 9));
  return line;
}

std::string PlanSummary(const v1::Plan& plan) {
  if (plan.world_size() == 0) return "";
  const v1::PlanCandidate& c = plan.chosen();
  return absl::StrCat("dp ", c.dp(), " × U ", c.ulysses(), " × R ", c.ring(), ", world ",
                      plan.world_size(), ", ", plan.layout(), ", ", c.nodes(),
                      c.nodes() == 1 ? " node × " : " nodes × ", c.devices_per_node(),
                      c.devices_per_node() == 1 ? " device" : " devices");
}

namespace {

std::string Time(int64_t unix_ms, absl::TimeZone tz) {
  if (unix_ms <= 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(unix_ms), tz);
}

// Distinct workers running the job, in rank order.
std::vector<std::string> JobWorkers(const v1::Job& job) {
  std::vector<std::string> workers;
  auto add = [&](const std::string& w) {
    if (!w.empty() && std::find(workers.begin(), workers.end(), w) == workers.end()) {
      workers.push_back(w);
    }
  };
  for (const v1::RankSummary& r : job.ranks()) add(r.worker());
  if (workers.empty()) {
    for (const v1::RankAssignment& r : job.plan().ranks()) add(r.worker());
  }
  return workers;
}

std::string StepText(const v1::Progress& p) {
  if (p.total_steps() <= 0) return absl::StrCat(p.step());
  return absl::StrFormat("%d/%d (%.0f%%)", p.step(), p.total_steps(),
                         100.0 * p.step() / p.total_steps());
}

}  // namespace

std::string AttemptText(const v1::Job& job) {
  return absl::StrCat(job.attempt(), "/",
                      job.max_attempts() > 0 ? job.max_attempts() : 1 + job.max_restarts());
}

std::string StatusText(const v1::Job& job, absl::TimeZone tz, absl::Time now) {
  std::vector<std::pair<std::string, std::string>> rows;
  const v1::Progress& p = job.progress();
  rows.emplace_back("job", absl::StrCat(job.id(), " (", job.name(), ")"));
  rows.emplace_back("state", StateName(job.state()));
  rows.emplace_back("attempt", AttemptText(job));
  if (!job.user().empty()) rows.emplace_back("user", job.user());
  rows.emplace_back("created", Time(job.create_time_ms(), tz));
  if (job.start_time_ms() > 0) {
    absl::Time end = job.end_time_ms() > 0 ? absl::FromUnixMillis(job.end_time_ms()) : now;
    rows.emplace_back(
        "elapsed",
        FormatEta(absl::ToDoubleSeconds(end - absl::FromUnixMillis(job.start_time_ms()))));
  }
  rows.emplace_back("step", StepText(p));
  if (p.step() > 0) {
    rows.emplace_back("loss", absl::StrFormat("%.4f (first %.4f)", p.loss(), p.first_loss()));
  }
  if (p.tokens_per_second() > 0) rows.emplace_back("tokens/s", FormatCount(p.tokens_per_second()));
  if (p.mfu() > 0) rows.emplace_back("MFU", FormatPercent(p.mfu()));
  if (!IsTerminal(job.state()) && p.eta_seconds() > 0) {
    rows.emplace_back("ETA", FormatEta(p.eta_seconds()));
  }
  std::string plan = PlanSummary(job.plan());
  rows.emplace_back("plan", plan.empty() ? "-" : plan);
  std::vector<std::string> workers = JobWorkers(job);
  rows.emplace_back("workers", workers.empty() ? "-" : absl::StrJoin(workers, ", "));
  rows.emplace_back("checkpoint", job.last_checkpoint().empty() ? "-" : job.last_checkpoint());
  if (!job.export_dir().empty()) rows.emplace_back("export", job.export_dir());
  if (!job.message().empty()) rows.emplace_back("message", job.message());
  // One line per attempt that ended early: when, what kind, the first line
  // of the cause (the log tail is in `message` and in -o json).
  std::vector<std::string> failures;
  for (const v1::Failure& f : job.failures()) {
    const std::string kind = f.kind() == v1::USER             ? "user error"
                             : f.kind() == v1::HANG           ? "hang"
                             : f.kind() == v1::INFRASTRUCTURE ? "infrastructure"
                             : f.kind() == v1::PREEMPTED      ? "preempted"
                                                              : "unknown";
    const std::string cause = f.cause().substr(0, f.cause().find('\n'));
    failures.push_back(absl::StrCat("attempt ", f.attempt(), " at ", Time(f.time_ms(), tz), " (",
                                    kind, "): ", cause));
  }
  if (!failures.empty()) rows.emplace_back("failures", absl::StrJoin(failures, "\n"));

  std::string out;
  for (const auto& [key, value] : rows) {
    absl::StrAppend(&out, absl::StrFormat("%-12s%s\n", key + ":", Indented(value, 12)));
  }
  return out;
}

std::string JobListText(const v1::ListJobsResponse& jobs, absl::TimeZone tz) {
  if (jobs.jobs().empty()) return "no jobs\n";
  Table table({"ID", "NAME", "STATE", "ATTEMPT", "STEP", "LOSS", "USER", "CREATED"});
  for (const v1::Job& j : jobs.jobs()) {
    const v1::Progress& p = j.progress();
    table.AddRow({j.id(), j.name(), StateName(j.state()), AttemptText(j),
                  p.total_steps() > 0 ? absl::StrCat(p.step(), "/", p.total_steps())
                                      : absl::StrCat(p.step()),
                  p.step() > 0 ? absl::StrFormat("%.4f", p.loss()) : "-",
                  j.user().empty() ? "-" : j.user(), Time(j.create_time_ms(), tz)});
  }
  return table.Render();
}

std::string WorkersText(const v1::ListWorkersResponse& workers, absl::Time now) {
  if (workers.workers().empty()) return "no workers registered\n";
  Table table({"WORKER", "HOST", "STATE", "DEVICES", "HEARTBEAT", "RUNNING"});
  for (const v1::WorkerInfo& w : workers.workers()) {
    std::string devices = "-";
    if (!w.devices().empty()) {
      const v1::Device& d = w.devices(0);
      devices = absl::StrCat(w.devices_size(), "× ", d.kind());
      if (d.kind() != "cpu" && !d.name().empty()) absl::StrAppend(&devices, " ", d.name());
      if (d.memory_bytes() > 0) absl::StrAppend(&devices, " (", FormatBytes(d.memory_bytes()), ")");
    }
    std::string heartbeat = "-";
    if (w.last_heartbeat_ms() > 0) {
      double age = absl::ToDoubleSeconds(now - absl::FromUnixMillis(w.last_heartbeat_ms()));
      heartbeat = absl::StrFormat("%.0fs ago", std::max(0.0, age));
    }
    table.AddRow({w.worker_id(), w.host().empty() ? "-" : w.host(),
                  w.state().empty() ? "-" : w.state(), devices, heartbeat,
                  w.busy().empty() ? "-" : absl::StrJoin(w.busy(), ", ")});
  }
  return table.Render();
}

std::string RanksText(const v1::Job& job) {
  if (job.ranks().empty()) return "";
  Table table({"RANK", "WORKER", "DEVICE", "DP", "RING", "ULYSSES", "PHASE", "EXIT"});
  for (const v1::RankSummary& r : job.ranks()) {
    std::string dp = "-", ring = "-", ulysses = "-";
    for (const v1::RankAssignment& a : job.plan().ranks()) {
      if (a.rank() != r.rank()) continue;
      dp = absl::StrCat(a.dp());
      ring = absl::StrCat(a.ring());
      ulysses = absl::StrCat(a.ulysses());
      break;
    }
    std::string exit = "-";
    if (r.signal() != 0) {
      exit = absl::StrCat("signal ", r.signal());
    } else if (r.phase() == "exited") {
      exit = absl::StrCat("code ", r.exit_code());
    }
    table.AddRow({absl::StrCat(r.rank()), r.worker(), absl::StrCat(r.device()), dp, ring, ulysses,
                  r.phase().empty() ? "-" : r.phase(), exit});
  }
  return table.Render();
}

std::string FinalText(const v1::Job& job) {
  const v1::Progress& p = job.progress();
  std::string out = absl::StrCat("job ", job.id(), " ", StateName(job.state()));
  if (job.attempt() == 0) {
    absl::StrAppend(&out, " before it started");
  } else {
    absl::StrAppend(&out, " after ", job.attempt(), job.attempt() == 1 ? " attempt" : " attempts");
  }
  if (job.start_time_ms() > 0 && job.end_time_ms() >= job.start_time_ms()) {
    absl::StrAppend(&out, " in ", FormatEta((job.end_time_ms() - job.start_time_ms()) / 1000.0));
  }
  absl::StrAppend(&out, "\n");
  if (p.step() > 0) {
    absl::StrAppend(&out, absl::StrFormat("final loss: %.4f (first %.4f) at step %s\n", p.loss(),
                                          p.first_loss(), StepText(p)));
  }
  if (!job.last_checkpoint().empty()) {
    absl::StrAppend(&out, "last checkpoint: ", job.last_checkpoint(), "\n");
  }
  if (!job.export_dir().empty()) absl::StrAppend(&out, "export: ", job.export_dir(), "\n");
  if (job.state() != v1::SUCCEEDED && !job.message().empty()) {
    absl::StrAppend(
        &out, job.state() == v1::FAILED ? "cause: " : "reason: ", Indented(job.message(), 2), "\n");
  }
  return out;
}

std::string SubmitFooter(absl::string_view id) {
  return absl::StrCat(
      "\nuseful commands:\n", "  spindle status ", id, "      state, progress, plan, root cause\n",
      "  spindle logs ", id, " -f     follow the ranks' logs\n", "  spindle watch ", id,
      "       events and progress until it ends\n", "  spindle cancel ", id, "      stop it\n");
}

std::string ValidSummary(absl::string_view source, const config::JobSpec& spec) {
  auto degree = [](int d) { return d == config::kAuto ? std::string("auto") : absl::StrCat(d); };
  const config::ModelSpec& m = spec.model;
  std::string model = absl::StrCat(config::EnumName(m.arch), m.preset.empty() ? "" : " " + m.preset,
                                   ", ", FormatCount(config::LlamaParameterCount(m)), " params");
  std::string length = spec.train.max_steps > 0
                           ? absl::StrCat(spec.train.max_steps, " steps")
                           : absl::StrCat(FormatCount(spec.train.max_tokens), " tokens");
  std::string batch = spec.data.global_batch_seqs > 0
                          ? absl::StrCat(spec.data.global_batch_seqs, " seqs/step")
                          : std::string("batch auto");
  const config::NodeRange& n = spec.resources.nodes;
  std::string nodes = n.min == n.max ? absl::StrCat(n.min) : absl::StrCat(n.min, "-", n.max);
  absl::StrAppend(&nodes, n.max == 1 ? " node × " : " nodes × ",
                  degree(spec.resources.devices_per_node),
                  spec.resources.devices_per_node == 1 ? " device" : " devices");
  const config::ParallelSpec& par = spec.parallel;
  return absl::StrCat(source, ": valid (job ", spec.metadata.name, ": ", model, ", seq ",
                      spec.data.seq_len, ", ", batch, ", ", length, ", ",
                      config::EnumName(spec.resources.device), " ", nodes, ", dp ", degree(par.dp),
                      " × ulysses ", degree(par.sp.ulysses), " × ring ", degree(par.sp.ring), " ",
                      layout::LayoutName(par.sp.layout), ")");
}

absl::StatusOr<std::string> MessageJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot write ", message.GetTypeName(), " as JSON: ", status.ToString()));
  }
  return json;
}

}  // namespace spindle::cli
