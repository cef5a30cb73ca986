// ExplainPlan: the plan as text for people. Sections in a fixed order, a
// 13-column label gutter, lines under 100 columns (long verdicts wrap).
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "coordinator/planner/candidates.h"
#include "coordinator/planner/format.h"
#include "coordinator/planner/plan.h"

namespace spindle::planner {
namespace {

using internal::Count;
using internal::GiB;
using internal::Seconds;

constexpr int kWidth = 99;
constexpr int kGutter = 13;
constexpr int kRankRowsShown = 16;  // larger worlds show the first and last few
constexpr int kAlternativesShown = 20;

class Text {
 public:
  // label (at most kGutter − 1 characters) on the first line only; text
  // wraps at spaces onto continuation lines indented by kGutter + extra.
  void Line(const std::string& label, const std::string& text, int extra = 0) {
    std::string line = absl::StrFormat("%-*s", kGutter, label);
    const std::string indent(kGutter + extra, ' ');
    bool fresh = true;
    for (absl::string_view word : absl::StrSplit(text, ' ')) {
      if (!fresh && static_cast<int>(line.size() + 1 + word.size()) > kWidth) {
        out_ += line + "\n";
        line = indent;
        fresh = true;
      }
      if (!fresh) line += ' ';
      absl::StrAppend(&line, word);
      fresh = false;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out_ += line + "\n";
  }
  std::string str() const { return out_; }

 private:
  std::string out_;
};

std::string Span(int first, int count) {
  return count == 1 ? absl::StrCat(first) : absl::StrCat(first, "-", first + count - 1);
}

std::string Ranges(const std::vector<std::pair<int64_t, int64_t>>& ranges) {
  if (ranges.empty()) return "(padding only)";
  std::vector<std::string> parts;
  for (size_t i = 0; i < ranges.size() && i < 2; ++i) {
    parts.push_back(absl::StrCat("[", ranges[i].first, ", ", ranges[i].second, ")"));
  }
  if (ranges.size() > 2) parts.push_back(absl::StrCat("+", ranges.size() - 2, " more"));
  return absl::StrJoin(parts, " ");
}

std::string AutoFixed(const config::JobSpec& spec) {
  std::vector<std::string> autos, fixed;
  const std::pair<const char*, int> fields[] = {
      {"dp", spec.parallel.dp},
      {"ulysses", spec.parallel.sp.ulysses},
      {"ring", spec.parallel.sp.ring},
      {"devices_per_node", spec.resources.devices_per_node}};
  for (const auto& [name, value] : fields) (value == config::kAuto ? autos : fixed).push_back(name);
  return absl::StrCat("auto: ", autos.empty() ? "none" : absl::StrJoin(autos, ", "),
                      "; fixed: ", fixed.empty() ? "none" : absl::StrJoin(fixed, ", "));
}

void Memory(const Plan& plan, Text& t) {
  const MemoryEstimate& m = plan.chosen.memory;
  const double device = static_cast<double>(m.capacity) / (1.0 - plan.cost.memory_headroom);
  t.Line("memory",
         absl::StrCat(GiB(m.total), " per device of ", GiB(m.capacity), " usable (",
                      GiB(static_cast<int64_t>(device)), " less ",
                      absl::StrFormat("%.0f%%", plan.cost.memory_headroom * 100), " headroom)"));
  auto g = [&](int64_t b) { return internal::InUnitOf(b, m.total); };
  t.Line("",
         absl::StrCat("weights ", g(m.weights), ", gradients ", g(m.gradients), ", optimizer ",
                      g(m.optimizer), ", activations ", g(m.activations), ", logits ", g(m.logits),
                      ", workspace ", g(m.workspace), " ", internal::UnitOf(m.total)));
}

void Time(const Plan& plan, Text& t) {
  const StepTimeEstimate& s = plan.chosen.time;
  t.Line("step time", absl::StrCat(Seconds(s.total), " = compute ", Seconds(s.compute),
                                   " + exposed communication ", Seconds(s.exposed)));
  t.Line("", absl::StrCat("communication ", Seconds(s.communication), ", of which ",
                          Seconds(s.overlapped), " overlapped with compute"));
  if (plan.chosen.traffic.empty()) {
    t.Line("traffic", "none (a single rank)");
  } else {
    t.Line("traffic", absl::StrFormat("%-9s %-11s %10s %10s %10s", "group", "link", "bytes", "time",
                                      "exposed"));
    for (const TrafficEstimate& e : plan.chosen.traffic) {
      t.Line("", absl::StrFormat("%-9s %-11s %10s %10s %10s", e.group,
                                 e.inter_node ? "inter-node" : "intra-node", internal::GB(e.bytes),
                                 Seconds(e.seconds), Seconds(e.exposed)));
    }
    t.Line("", "(per rank per optimizer step)");
  }
  t.Line(
      "throughput",
      absl::StrCat(Count(static_cast<int64_t>(plan.chosen.tokens_per_second + 0.5)),
                   " tokens/s; MFU ", internal::Percent(plan.chosen.mfu),
                   " (Megatron model FLOPs over ", absl::StrFormat("%.4g", plan.peak_flops / 1e12),
                   " TFLOP/s peak × ", plan.world(), " devices)"));
}

void Placement(const Plan& plan, Text& t) {
  // Ranks fill nodes in order, so each node holds one run of ranks.
  std::vector<std::string> rows;
  for (size_t i = 0; i < plan.ranks.size();) {
    size_t j = i;
    while (j < plan.ranks.size() && plan.ranks[j].node == plan.ranks[i].node) ++j;
    std::vector<int> devices;
    for (size_t k = i; k < j; ++k) devices.push_back(plan.ranks[k].device);
    rows.push_back(absl::StrFormat("%-20s ranks %-9s devices %s", plan.ranks[i].worker,
                                   Span(static_cast<int>(i), static_cast<int>(j - i)),
                                   absl::StrJoin(devices, ",")));
    i = j;
  }
  for (size_t i = 0; i < rows.size(); ++i) t.Line(i == 0 ? "placement" : "", rows[i]);

  const int world = static_cast<int>(plan.ranks.size());
  t.Line("ranks", absl::StrFormat("%-5s %-18s %-10s %-7s %-8s %s", "rank", "worker/device",
                                  "dp.ring.u", "q heads", "kv heads", "tokens"));
  for (int i = 0; i < world; ++i) {
    if (world > kRankRowsShown && i == 4) {
      t.Line("", absl::StrCat("... ", world - 6, " more ranks ..."));
      i = world - 2;
    }
    const RankPlacement& r = plan.ranks[i];
    std::string kv = Span(r.first_kv_head, r.num_kv_heads);
    if (plan.kv_replicas > 1) {
      absl::StrAppend(
          &kv, "=",
          Span(r.first_kv_head / plan.kv_replicas, std::max(1, r.num_kv_heads / plan.kv_replicas)));
    }
    t.Line("", absl::StrFormat("%-5d %-18s %-10s %-7s %-8s %s", r.rank,
                               absl::StrCat(r.worker, "/", r.device),
                               absl::StrCat(r.dp, ".", r.ring, ".", r.ulysses),
                               Span(r.first_q_head, r.num_q_heads), kv, Ranges(r.token_ranges)));
  }
  if (plan.kv_replicas > 1) {
    t.Line("", absl::StrCat("kv heads in replicated numbering = model heads (each replicated ",
                            plan.kv_replicas, "×)"));
  }
}

}  // namespace

std::string ExplainPlan(const Plan& plan, const config::JobSpec& spec) {
  Text t;
  const Candidate& c = plan.chosen;
  const config::ModelSpec& m = spec.model;
  t.Line("plan",
         absl::StrCat("job ", spec.metadata.name, ": ", c.nodes,
                      c.nodes == 1 ? " node × " : " nodes × ", c.devices_per_node, " ",
                      config::EnumName(spec.resources.device), " devices = world ", plan.world()));
  t.Line("degrees",
         absl::StrCat("dp ", c.dp, " × ulysses ", c.ulysses, " × ring ", c.ring, " (sp ",
                      c.ulysses * c.ring, "); ", layout::LayoutName(plan.layout), " layout, ",
                      layout::ScheduleName(spec.parallel.sp.schedule), " schedule"));
  t.Line("", AutoFixed(spec));
  t.Line("batch",
         absl::StrCat(plan.global_batch_seqs, " × ", Count(plan.seq_len),
                      " tokens per step (padded ", Count(plan.padded_len), "); micro-batch ",
                      plan.micro_batch_seqs, ", grad accum ", plan.grad_accum_steps, "; ",
                      Count(plan.padded_len / (c.ulysses * c.ring)), " tokens per rank"));
  t.Line("heads", absl::StrCat(m.num_attention_heads, " query, ", m.num_key_value_heads,
                               " key/value; per rank ", m.num_attention_heads / c.ulysses,
                               " query + ", m.num_key_value_heads * plan.kv_replicas / c.ulysses,
                               " key/value (kv replicas ", plan.kv_replicas, ")"));
  Memory(plan, t);
  Time(plan, t);
  Placement(plan, t);

  t.Line("alternatives", plan.alternatives.empty() ? "none: the only candidate"
                                                   : "best first, each with why it lost");
  for (size_t i = 0; i < plan.alternatives.size() && i < kAlternativesShown; ++i) {
    const Candidate& a = plan.alternatives[i];
    t.Line("",
           absl::StrCat(internal::Describe(a), ": ", a.feasible ? "" : "infeasible: ", a.verdict),
           2);
  }
  if (plan.alternatives.size() > kAlternativesShown) {
    t.Line("", absl::StrCat("... and ", plan.alternatives.size() - kAlternativesShown, " more"));
  }
  for (size_t i = 0; i < plan.notes.size(); ++i) {
    t.Line(i == 0 ? "notes" : "", absl::StrCat("- ", plan.notes[i]), 2);
  }
  return t.str();
}

}  // namespace spindle::planner
