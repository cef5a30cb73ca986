#include "coordinator/planner/refusal.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/config/presets.h"
#include "coordinator/planner/format.h"

namespace spindle::planner::internal {
namespace {

using config::ActivationCheckpointing;

// A degree the spec may fix, and the field that writes it.
struct Degree {
  const char* field;
  int& (*get)(config::JobSpec&);
};
const Degree kDegrees[] = {
    {"parallel.sp.ulysses", [](config::JobSpec& s) -> int& { return s.parallel.sp.ulysses; }},
    {"parallel.sp.ring", [](config::JobSpec& s) -> int& { return s.parallel.sp.ring; }},
    {"parallel.dp", [](config::JobSpec& s) -> int& { return s.parallel.dp; }},
    {"resources.devices_per_node",
     [](config::JobSpec& s) -> int& { return s.resources.devices_per_node; }},
};

bool FailedOnMemory(const Candidate& c) {
  return !c.feasible && c.memory.total > 0 && c.memory.total > c.memory.capacity;
}

// The memory-bound candidate needing the least memory, or nullptr.
const Candidate* SmallestOverMemory(const std::vector<Candidate>& candidates) {
  const Candidate* best = nullptr;
  for (const Candidate& c : candidates) {
    if (FailedOnMemory(c) && (best == nullptr || c.memory.total < best->memory.total)) best = &c;
  }
  return best;
}

std::string Breakdown(const MemoryEstimate& m) {
  auto g = [&](int64_t b) { return InUnitOf(b, m.total); };
  return absl::StrCat("weights ", g(m.weights), " + gradients ", g(m.gradients), " + optimizer ",
                      g(m.optimizer), " + activations ", g(m.activations), " + logits ",
                      g(m.logits), " + workspace ", g(m.workspace), " ", UnitOf(m.total));
}

std::string Available(const MemoryEstimate& m, const CostModelOptions& cost) {
  const double device = static_cast<double>(m.capacity) / (1.0 - cost.memory_headroom);
  return absl::StrCat(GiB(m.capacity), " available (", GiB(static_cast<int64_t>(device)),
                      " × (1 − ", absl::StrFormat("%.2f", cost.memory_headroom), " headroom))");
}

std::string Binding(const Evaluation& e, const CostModelOptions& cost) {
  if (!e.no_nodes.empty()) return e.no_nodes;
  // Every degree set was ruled out before pricing (e.g. by the batch); the
  // notes say by what.
  if (e.candidates.empty()) {
    return e.notes.empty() ? "no degrees satisfy the spec's parallel and data settings"
                           : absl::StrJoin(e.notes, "; ");
  }
  if (const Candidate* c = SmallestOverMemory(e.candidates)) {
    return absl::StrCat("device memory: the smallest candidate, ", Describe(*c), ", needs ",
                        GiB(c->memory.total), " per device (", Breakdown(c->memory), "), ",
                        Available(c->memory, cost));
  }
  const Candidate& first = e.candidates.front();
  std::string more;
  if (e.candidates.size() > 1) {
    more = absl::StrCat(" (and ", e.candidates.size() - 1, " other candidate",
                        e.candidates.size() > 2 ? "s" : "", ")");
  }
  return absl::StrCat(Describe(first), ": ", first.verdict, more);
}

// Tries spec/inventory variants in the documented order.
class NearestChange {
 public:
  NearestChange(const config::JobSpec& spec, const Inventory& inventory,
                const CostModelOptions& cost)
      : spec_(spec), inventory_(inventory), cost_(cost) {}

  std::string Find() {
    const config::NodeRange range = spec_.resources.nodes;
    const std::vector<int> usable = UsableNodes(spec_, inventory_);
    const int available = static_cast<int>(usable.size());
    const char* kind = config::EnumName(spec_.resources.device);
    if (available == 0) return "";

    if (range.min > available) {
      config::JobSpec s = spec_;
      s.resources.nodes.min = available;
      if (auto r = Try(absl::StrCat("with ", available, " nodes"), s, inventory_)) {
        return absl::StrCat("set resources.nodes.min: ", available, *r);
      }
    }
    if (!spec_.train.optimizer.sharded) {
      config::JobSpec s = spec_;
      s.train.optimizer.sharded = true;
      const std::string change = "set train.optimizer.sharded: true";
      if (auto r = Try(change, s, inventory_)) return change + *r;
    }
    for (ActivationCheckpointing mode :
         {ActivationCheckpointing::kAttention, ActivationCheckpointing::kFull}) {
      if (Strength(mode) <= Strength(spec_.train.activation_checkpointing)) continue;
      config::JobSpec s = spec_;
      s.train.activation_checkpointing = mode;
      const std::string change =
          absl::StrCat("set train.activation_checkpointing: ", config::EnumName(mode));
      if (auto r = Try(change, s, inventory_)) return change + *r;
    }
    // Node counts up to range.max were tried already: each step tries one more.
    for (int max = range.max + 1; max <= available; ++max) {
      config::JobSpec s = spec_;
      s.resources.nodes.min = s.resources.nodes.max = max;
      if (auto r = Try(absl::StrCat("with ", max, " nodes"), s, inventory_)) {
        return absl::StrCat("set resources.nodes.max: ", max, " (the inventory has ", available,
                            " ", kind, " nodes)", *r);
      }
    }
    const NodeInfo& model = inventory_.nodes[usable.front()];
    Inventory more = inventory_;
    const int limit = std::min(std::max(range.max, std::max(4 * available, available + 4)), 256);
    for (int n = available + 1; n <= limit; ++n) {
      NodeInfo extra = model;
      extra.worker = absl::StrCat(model.worker, "+", n - available);
      more.nodes.push_back(extra);
      if (n < range.min) continue;
      config::JobSpec s = spec_;
      s.resources.nodes.min = s.resources.nodes.max = n;
      if (auto r = Try(absl::StrCat("with ", n, " nodes"), s, more)) {
        const int missing = n - available;
        const std::string like = absl::StrCat(missing, " more ", kind, " node",
                                              missing == 1 ? "" : "s", " like ", model.worker);
        if (n <= range.max) {
          return absl::StrCat("needs ", like, " (resources.nodes.max allows ", range.max,
                              "; the inventory has ", available, ")", *r);
        }
        return absl::StrCat("needs ", n, " nodes: add ", like, " and set resources.nodes.max: ", n,
                            *r);
      }
    }
    std::vector<std::string> fixed;
    for (const Degree& d : kDegrees) {
      config::JobSpec one = spec_;
      if (d.get(one) == config::kAuto) continue;
      fixed.push_back(d.field);
      d.get(one) = config::kAuto;
      const std::string change = absl::StrCat("set ", d.field, ": auto");
      if (auto r = Try(change, one, inventory_)) return change + *r;
    }
    if (fixed.size() > 1) {
      config::JobSpec all = spec_;
      for (const Degree& d : kDegrees) d.get(all) = config::kAuto;
      const std::string change = absl::StrCat("set ", absl::StrJoin(fixed, ", "), " to auto");
      if (auto r = Try(change, all, inventory_)) return change + *r;
    }
    for (int mb = spec_.data.micro_batch_seqs - 1; mb >= 1; --mb) {
      config::JobSpec s = spec_;
      s.data.micro_batch_seqs = mb;
      const std::string change = absl::StrCat("set data.micro_batch_seqs: ", mb);
      if (auto r = Try(change, s, inventory_)) return change + *r;
    }
    return "";
  }

  // The least memory any variant tried needed, or nullopt, and that variant.
  std::optional<MemoryEstimate> smallest() const { return smallest_; }
  const std::string& smallest_label() const { return smallest_label_; }

 private:
  static int Strength(ActivationCheckpointing m) {
    return m == ActivationCheckpointing::kNone        ? 0
           : m == ActivationCheckpointing::kAttention ? 1
                                                      : 2;
  }

  // " (then dp 1 × U 8 × R 2 on 2 nodes × 8, 98.1 GiB of 126.9 GiB per
  // device)" when the variant has a feasible plan.
  std::optional<std::string> Try(const std::string& label, const config::JobSpec& s,
                                 const Inventory& inventory) {
    Evaluation e = Evaluate(s, inventory, cost_);
    if (e.feasible()) {
      const Candidate& c = e.candidates.front();
      return absl::StrCat(" (then ", Describe(c), ", ", GiB(c.memory.total), " of ",
                          GiB(c.memory.capacity), " per device)");
    }
    if (const Candidate* c = SmallestOverMemory(e.candidates)) {
      if (!smallest_ || c->memory.total < smallest_->total) {
        smallest_ = c->memory;
        smallest_label_ = label;
      }
    }
    return std::nullopt;
  }

  const config::JobSpec& spec_;
  const Inventory& inventory_;
  const CostModelOptions& cost_;
  std::optional<MemoryEstimate> smallest_;
  std::string smallest_label_;
};

}  // namespace

absl::Status Refuse(const config::JobSpec& spec, const Inventory& inventory,
                    const CostModelOptions& cost, const Evaluation& evaluation) {
  const char* kind = config::EnumName(spec.resources.device);
  const int available = static_cast<int>(UsableNodes(spec, inventory).size());
  std::string message =
      absl::StrCat("no feasible plan for job ", spec.metadata.name, " on ", available, " ", kind,
                   " node", available == 1 ? "" : "s", ": ", Binding(evaluation, cost));
  NearestChange search(spec, inventory, cost);
  std::string change = search.Find();
  if (change.empty()) {
    const Candidate* here = SmallestOverMemory(evaluation.candidates);
    std::optional<MemoryEstimate> least = search.smallest();
    std::string how = search.smallest_label();
    if (here != nullptr && (!least || here->memory.total <= least->total)) {
      least = here->memory;
      how = "the spec as written";
    }
    if (least) {
      const int64_t state = least->weights + least->gradients + least->optimizer;
      const int64_t params = config::LlamaParameterCount(spec.model);
      change = absl::StrCat(
          "none: no single change to activation checkpointing, nodes, degrees or micro-batch fits; "
          "the least memory found is ",
          GiB(least->total), " per device (", how, "), ", GiB(least->capacity), " available. ");
      if (state >= least->capacity) {
        absl::StrAppend(&change, "Weights, gradients and AdamW state alone take ", GiB(state), " (",
                        absl::StrFormat("%.3g", static_cast<double>(state) /
                                                    static_cast<double>(std::max<int64_t>(params, 1))),
                        " B per parameter × ", Count(params),
                        spec.train.optimizer.sharded
                            ? "; weights and gradients are replicated, only the optimizer is "
                              "sharded): use devices with more memory or a smaller model"
                            : ", replicated on every device): use devices with more memory or a "
                              "smaller model, or set train.optimizer.sharded: true");
      } else {
        absl::StrAppend(&change, "Combine them: activations, logits and buffers shrink with ",
                        "stronger checkpointing, more ranks and smaller micro-batches");
      }
    } else {
      change = "none found among activation checkpointing, nodes, degrees and micro-batch";
    }
  }
  absl::StrAppend(&message, "\nnearest change: ", change);
  return absl::FailedPreconditionError(message);
}

}  // namespace spindle::planner::internal
