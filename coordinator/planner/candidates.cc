#include "coordinator/planner/candidates.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config/resolve.h"
#include "common/layout/head_plan.h"
#include "common/layout/sequence_layout.h"
#include "coordinator/planner/format.h"

namespace spindle::planner::internal {
namespace {

// A candidate with what sorting and verdicts need but Candidate does not carry.
struct Scored {
  Candidate c;
  double seconds_per_seq = 0;  // time.total / global_batch_seqs
  int64_t padded_len = 0;
  int index = 0;  // enumeration order
};

double Peak(const DeviceInfo& d, const config::JobSpec& spec, bool* bf16) {
  *bf16 = spec.train.precision == config::Precision::kBf16 &&
          spec.resources.device == config::Device::kCuda && d.peak_flops_bf16 > 0;
  return *bf16 ? d.peak_flops_bf16 : d.peak_flops_fp32;
}

bool Better(const Scored& a, const Scored& b) {
  if (a.seconds_per_seq != b.seconds_per_seq) return a.seconds_per_seq < b.seconds_per_seq;
  if (a.c.nodes != b.c.nodes) return a.c.nodes < b.c.nodes;
  if (a.c.ulysses * a.c.ring != b.c.ulysses * b.c.ring) {
    return a.c.ulysses * a.c.ring < b.c.ulysses * b.c.ring;
  }
  return a.c.ulysses < b.c.ulysses;
}

const TrafficEstimate* Find(const Candidate& c, const std::string& group) {
  for (const TrafficEstimate& t : c.traffic) {
    if (t.group == group) return &t;
  }
  return nullptr;
}

double ExposedPerSeq(const Scored& s, const std::string& group) {
  const TrafficEstimate* t = Find(s.c, group);
  return t == nullptr ? 0 : t->exposed * s.seconds_per_seq / s.c.time.total;
}

// Why feasible candidate `alt` lost to `best`: the component of the
// predicted time per sequence that grew the most.
std::string LoserVerdict(const Scored& alt, const Scored& best) {
  const double slower = alt.seconds_per_seq / best.seconds_per_seq - 1;
  if (slower <= 0) {
    const char* why = alt.c.nodes != best.c.nodes                                  ? "fewer nodes"
                      : alt.c.ulysses * alt.c.ring != best.c.ulysses * best.c.ring ? "a smaller U·R"
                                                                                   : "a smaller U";
    return absl::StrCat("as fast as the chosen plan, which wins the tie with ", why);
  }
  const double scale_alt = alt.seconds_per_seq / alt.c.time.total;
  const double scale_best = best.seconds_per_seq / best.c.time.total;
  std::string reason;
  double worst = alt.c.time.compute * scale_alt - best.c.time.compute * scale_best;
  if (alt.c.nodes * alt.c.devices_per_node < best.c.nodes * best.c.devices_per_node) {
    reason = absl::StrCat("more compute per device: world ", alt.c.nodes * alt.c.devices_per_node,
                          " instead of ", best.c.nodes * best.c.devices_per_node);
  } else if (alt.padded_len > best.padded_len) {
    reason = absl::StrCat("more compute: padding to ", Count(alt.padded_len), " tokens");
  } else {
    reason = "more compute per sequence";
  }
  const std::pair<const char*, const char*> groups[] = {
      {"ulysses", "Ulysses all-to-all"}, {"ring", "ring traffic"}, {"dp", "gradient all-reduce"},
      {"params", "weight all-gather"}};
  for (const auto& [group, name] : groups) {
    // Only traffic the loser has can be why it lost (a group it lacks can
    // still "grow" past a negative compute difference).
    const TrafficEstimate* t = Find(alt.c, group);
    if (t == nullptr) continue;
    const double grew = ExposedPerSeq(alt, group) - ExposedPerSeq(best, group);
    if (grew <= worst) continue;
    worst = grew;
    reason = absl::StrCat("exposed ", name, t->inter_node ? " crosses nodes" : " inside a node");
  }
  return absl::StrCat(Percent(slower), " slower: ", reason);
}

std::vector<int> Divisors(int n) {
  std::vector<int> d;
  for (int i = 1; i <= n; ++i) {
    if (n % i == 0) d.push_back(i);
  }
  return d;
}

// The candidates for one node set, in enumeration order. DP degrees that a
// written global batch does not divide are not candidates (the spec rules
// them out, as it does degrees other than the written ones); they are added
// to batch_excluded.
void EnumerateWorld(const config::JobSpec& spec, const NodeSet& nodes, const CostModelOptions& cost,
                    std::vector<Scored>* out, std::set<int>* batch_excluded) {
  const config::ParallelSpec& p = spec.parallel;
  const config::ModelSpec& m = spec.model;
  const int world = nodes.world();
  bool any = false;
  for (int sp : Divisors(world)) {
    for (int u : Divisors(sp)) {
      const int dp = world / sp, ring = sp / u;
      if ((p.dp != config::kAuto && p.dp != dp) ||
          (p.sp.ulysses != config::kAuto && p.sp.ulysses != u) ||
          (p.sp.ring != config::kAuto && p.sp.ring != ring)) {
        continue;
      }
      any = true;
      const int64_t batch = spec.data.global_batch_seqs;
      if (batch > 0 && batch % (int64_t{dp} * spec.data.micro_batch_seqs) != 0) {
        batch_excluded->insert(dp);
        continue;
      }
      Scored s;
      s.index = static_cast<int>(out->size());
      s.c.nodes = nodes.count();
      s.c.devices_per_node = nodes.devices_per_node;
      s.c.dp = dp;
      s.c.ulysses = u;
      s.c.ring = ring;
      if (!layout::PlanHeads(m.num_attention_heads, m.num_key_value_heads, u).ok()) {
        std::vector<int> valid;
        for (int v :
             layout::ValidUlyssesDegrees(m.num_attention_heads, m.num_key_value_heads, world)) {
          if (world % v == 0) valid.push_back(v);
        }
        s.c.verdict = absl::StrCat("U=", u, " cannot split ", m.num_attention_heads, " query and ",
                                   m.num_key_value_heads, " key/value heads (valid U for world ",
                                   world, ": ", absl::StrJoin(valid, ", "), ")");
        out->push_back(std::move(s));
        continue;
      }
      config::JobSpec fixed = spec;
      fixed.parallel.dp = dp;
      fixed.parallel.sp.ulysses = u;
      fixed.parallel.sp.ring = ring;
      absl::StatusOr<config::ResolvedParallel> r = config::ResolveParallel(fixed, world);
      if (!r.ok()) {
        s.c.verdict = std::string(r.status().message());
        out->push_back(std::move(s));
        continue;
      }
      PriceCandidate(spec, *r, nodes, cost, &s.c);
      s.seconds_per_seq = s.c.time.total / static_cast<double>(r->global_batch_seqs);
      s.padded_len =
          layout::SequenceLayout::Create(p.sp.layout, spec.data.seq_len, u, ring)->padded_len();
      out->push_back(std::move(s));
    }
  }
  if (!any) {
    // The written degrees do not fit this world: ResolveParallel says why.
    Scored s;
    s.index = static_cast<int>(out->size());
    s.c.nodes = nodes.count();
    s.c.devices_per_node = nodes.devices_per_node;
    s.c.dp = s.c.ulysses = s.c.ring = 0;
    absl::StatusOr<config::ResolvedParallel> r = config::ResolveParallel(spec, world);
    s.c.verdict = r.ok() ? "no degrees fit this world" : std::string(r.status().message());
    out->push_back(std::move(s));
  }
}

}  // namespace

std::vector<int> UsableNodes(const config::JobSpec& spec, const Inventory& inventory) {
  std::vector<int> usable;
  for (int i = 0; i < static_cast<int>(inventory.nodes.size()); ++i) {
    const NodeInfo& n = inventory.nodes[i];
    if (n.kind == spec.resources.device && !n.devices.empty()) usable.push_back(i);
  }
  std::stable_sort(usable.begin(), usable.end(), [&](int a, int b) {
    return inventory.nodes[a].devices.size() > inventory.nodes[b].devices.size();
  });
  return usable;
}

absl::StatusOr<NodeSet> SelectNodes(const config::JobSpec& spec, const Inventory& inventory,
                                    int count) {
  const char* kind = config::EnumName(spec.resources.device);
  std::vector<int> usable = UsableNodes(spec, inventory);
  if (count > static_cast<int>(usable.size())) {
    return absl::FailedPreconditionError(absl::StrCat(count, " nodes needed, the inventory has ",
                                                      usable.size(), " with free ", kind,
                                                      " devices"));
  }
  NodeSet set;
  set.nodes.assign(usable.begin(), usable.begin() + count);
  const int fixed = spec.resources.devices_per_node;
  set.devices_per_node = fixed;
  for (int i : set.nodes) {
    const int free = static_cast<int>(inventory.nodes[i].devices.size());
    if (fixed != config::kAuto && free < fixed) {
      return absl::FailedPreconditionError(absl::StrCat(
          "resources.devices_per_node: ", fixed, " but ", inventory.nodes[i].worker, " has ", free,
          " free ", kind, " devices (", count, " nodes with ", fixed, " are needed)"));
    }
    if (fixed == config::kAuto && (set.devices_per_node == 0 || free < set.devices_per_node)) {
      set.devices_per_node = free;
    }
  }
  std::sort(set.nodes.begin(), set.nodes.end());
  set.bf16_peak = true;
  bool first = true;
  for (int i : set.nodes) {
    const NodeInfo& node = inventory.nodes[i];
    for (int k = 0; k < set.devices_per_node; ++k) {
      const DeviceInfo& d = node.devices[k];
      bool bf16 = false;
      const double peak = Peak(d, spec, &bf16);
      if (d.memory_bytes <= 0 || peak <= 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            "inventory: ", node.worker, " device ", d.index, " has no ",
            d.memory_bytes <= 0 ? "memory size" : "peak FLOP/s", "; the planner cannot price it"));
      }
      set.bf16_peak = set.bf16_peak && bf16;
      set.memory_bytes = first ? d.memory_bytes : std::min(set.memory_bytes, d.memory_bytes);
      set.peak_flops = first ? peak : std::min(set.peak_flops, peak);
      first = false;
    }
    set.intra_node_bandwidth = i == set.nodes.front()
                                   ? node.intra_node_bandwidth
                                   : std::min(set.intra_node_bandwidth, node.intra_node_bandwidth);
    set.inter_node_bandwidth = i == set.nodes.front()
                                   ? node.inter_node_bandwidth
                                   : std::min(set.inter_node_bandwidth, node.inter_node_bandwidth);
  }
  return set;
}

Evaluation Evaluate(const config::JobSpec& spec, const Inventory& inventory,
                    const CostModelOptions& cost) {
  Evaluation e;
  const char* kind = config::EnumName(spec.resources.device);
  const config::NodeRange range = spec.resources.nodes;
  const int usable = static_cast<int>(UsableNodes(spec, inventory).size());
  if (usable == 0) {
    e.no_nodes = absl::StrCat("resources.device: ", kind, " but the inventory has no node with ",
                              "free ", kind, " devices");
    return e;
  }
  if (range.min > usable) {
    e.no_nodes = absl::StrCat("resources.nodes.min: ", range.min, " but the inventory has ", usable,
                              " node", usable == 1 ? "" : "s", " with free ", kind, " devices");
    return e;
  }
  if (range.max > usable) {
    e.notes.push_back(absl::StrCat("resources.nodes.max is ", range.max, " but the inventory has ",
                                   usable, " node", usable == 1 ? "" : "s", " with free ", kind,
                                   " devices: planned up to ", usable));
  }
  std::vector<Scored> all;
  std::set<int> batch_excluded;
  for (int n = range.min; n <= std::min(range.max, usable); ++n) {
    absl::StatusOr<NodeSet> nodes = SelectNodes(spec, inventory, n);
    if (!nodes.ok()) {
      Scored s;
      s.index = static_cast<int>(all.size());
      s.c.nodes = n;
      s.c.devices_per_node = spec.resources.devices_per_node;
      s.c.dp = s.c.ulysses = s.c.ring = 0;
      s.c.verdict = std::string(nodes.status().message());
      all.push_back(std::move(s));
      continue;
    }
    EnumerateWorld(spec, *nodes, cost, &all, &batch_excluded);
  }
  if (!batch_excluded.empty()) {
    e.notes.push_back(absl::StrCat(
        "dp ", absl::StrJoin(batch_excluded, ", "), " not considered: data.global_batch_seqs ",
        spec.data.global_batch_seqs, " is not a multiple of dp × micro_batch_seqs"));
  }
  std::stable_sort(all.begin(), all.end(), [](const Scored& a, const Scored& b) {
    if (a.c.feasible != b.c.feasible) return a.c.feasible;
    return a.c.feasible ? Better(a, b) : a.index < b.index;
  });
  // Every verdict before any move: each compares against all[0].
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].c.feasible) all[i].c.verdict = i == 0 ? "chosen" : LoserVerdict(all[i], all[0]);
  }
  for (Scored& s : all) e.candidates.push_back(std::move(s.c));
  return e;
}

std::string Describe(const Candidate& c) {
  std::string where = absl::StrCat(c.nodes, c.nodes == 1 ? " node" : " nodes");
  if (c.devices_per_node > 0) absl::StrAppend(&where, " × ", c.devices_per_node);
  if (c.dp == 0) return where;
  return absl::StrCat("dp ", c.dp, " × U ", c.ulysses, " × R ", c.ring, " on ", where);
}

}  // namespace spindle::planner::internal
