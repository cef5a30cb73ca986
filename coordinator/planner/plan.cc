// MakePlan: validate, evaluate every candidate (candidates.h), and turn the
// winner into per-rank placements with heads and token ranges; or refuse
// (refusal.h).
#include "coordinator/planner/plan.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/config/resolve.h"
#include "common/config/validate.h"
#include "common/layout/head_plan.h"
#include "common/layout/mesh.h"
#include "common/status.h"
#include "coordinator/planner/candidates.h"
#include "coordinator/planner/cost_model.h"
#include "coordinator/planner/format.h"
#include "coordinator/planner/refusal.h"

namespace spindle::planner {
namespace {

using internal::NodeSet;

// Real token positions (< seq_len) of a list in local order, as [begin, end)
// runs of consecutive positions.
std::vector<std::pair<int64_t, int64_t>> Ranges(const std::vector<int64_t>& positions,
                                                int64_t seq_len) {
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (int64_t p : positions) {
    if (p >= seq_len) continue;
    if (!ranges.empty() && ranges.back().second == p) {
      ++ranges.back().second;
    } else {
      ranges.emplace_back(p, p + 1);
    }
  }
  return ranges;
}

absl::Status CheckCost(const CostModelOptions& cost) {
  if (!(cost.compute_efficiency > 0 && cost.compute_efficiency <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cost model: compute_efficiency must be in (0, 1], got ", cost.compute_efficiency));
  }
  if (!(cost.memory_headroom >= 0 && cost.memory_headroom < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cost model: memory_headroom must be in [0, 1), got ", cost.memory_headroom));
  }
  return absl::OkStatus();
}

bool Heterogeneous(const Inventory& inventory, const NodeSet& nodes) {
  const NodeInfo& first = inventory.nodes[nodes.nodes.front()];
  for (int i : nodes.nodes) {
    const NodeInfo& n = inventory.nodes[i];
    if (n.intra_node_bandwidth != first.intra_node_bandwidth ||
        n.inter_node_bandwidth != first.inter_node_bandwidth) {
      return true;
    }
    for (int k = 0; k < nodes.devices_per_node; ++k) {
      const DeviceInfo& d = n.devices[k];
      const DeviceInfo& f = first.devices.front();
      if (d.memory_bytes != f.memory_bytes || d.peak_flops_bf16 != f.peak_flops_bf16 ||
          d.peak_flops_fp32 != f.peak_flops_fp32) {
        return true;
      }
    }
  }
  return false;
}

std::vector<std::string> Notes(const config::JobSpec& spec, const Inventory& inventory,
                               const NodeSet& nodes, const Plan& plan,
                               std::vector<std::string> evaluation_notes) {
  const CostModelOptions& cost = plan.cost;
  const Candidate& c = plan.chosen;
  const bool bf16 = spec.train.precision == config::Precision::kBf16;
  const int world = c.dp * c.ulysses * c.ring;
  const bool sharded = spec.train.optimizer.sharded && world > 1;
  const std::string state =
      sharded ? absl::StrCat(bf16 ? "bf16 weights and fp32 gradients replicated (6 B per "
                                    "parameter), fp32 master weights and AdamW moments sharded "
                                  : "fp32 weights and gradients replicated (8 B per parameter), "
                                    "AdamW moments sharded ",
                             "over the ", world, " ranks (", bf16 ? 12 : 8,
                             " B per parameter ÷ ", world, "; ZeRO stage 1)")
              : absl::StrCat("weights, fp32 gradients and AdamW state replicated on every device, ",
                             bf16 ? 18 : 16, " B per parameter",
                             world > 1 ? " (train.optimizer.sharded: false)" : "");
  std::vector<std::string> notes = {
      absl::StrFormat("compute at %.0f%% of the devices' dense peak (compute_efficiency %.2f)",
                      cost.compute_efficiency * 100, cost.compute_efficiency),
      absl::StrCat("memory: ", state, "; ",
                   absl::StrFormat("%.0f%%", cost.memory_headroom * 100),
                   " of device memory kept free"),
      absl::StrCat("overlap: Ulysses all-to-all exposed; ring transfers hidden behind attention "
                   "compute; gradient all-reduce (whole world, fp32) behind the last micro-step's "
                   "backward",
                   sharded ? "; weight all-gather after the update exposed" : ""),
      "links priced by bandwidth alone (no per-collective latency)",
  };
  if (plan.padded_len > plan.seq_len) {
    notes.push_back(absl::StrCat("sequences padded from ", internal::Count(plan.seq_len), " to ",
                                 internal::Count(plan.padded_len),
                                 " tokens (masked) so every rank holds the same length"));
  }
  if (c.ring > 1) {
    bool inter = false;
    for (const TrafficEstimate& t : c.traffic) {
      if (t.group == "ring") inter = t.inter_node;
    }
    const double bw = inter ? nodes.inter_node_bandwidth : nodes.intra_node_bandwidth;
    const double threshold =
        internal::RingOverlapThreshold(spec, nodes.peak_flops * cost.compute_efficiency, bw);
    notes.push_back(absl::StrCat("ring step hides its transfer when S/R >= ",
                                 internal::Count(static_cast<int64_t>(threshold + 0.5)),
                                 " tokens on ", inter ? "inter" : "intra",
                                 "-node links; S/R = ", internal::Count(plan.padded_len / c.ring)));
  }
  if (spec.train.precision == config::Precision::kBf16 && !nodes.bf16_peak) {
    notes.push_back(spec.resources.device == config::Device::kCpu
                        ? "precision bf16 on CPU devices: priced at their fp32 peak"
                        : "precision bf16 but a device has no bf16 peak: priced at fp32 peak");
  }
  if (Heterogeneous(inventory, nodes)) {
    notes.push_back("nodes differ: priced at the smallest memory, peak and bandwidth among them");
  }
  if (c.time.compute > 0 && c.time.exposed > 0.1 * c.time.compute) {
    notes.push_back(absl::StrCat("exposed communication is ",
                                 internal::Percent(c.time.exposed / c.time.compute),
                                 " of compute (over 10%)"));
  }
  if (spec.data.global_batch_seqs == 0) {
    notes.push_back(absl::StrCat("data.global_batch_seqs is auto: dp × micro_batch_seqs = ",
                                 plan.global_batch_seqs, " sequences per step"));
  }
  for (std::string& n : evaluation_notes) notes.push_back(std::move(n));
  return notes;
}

}  // namespace

absl::StatusOr<Plan> MakePlan(const config::JobSpec& spec, const Inventory& inventory,
                              const CostModelOptions& cost) {
  SPINDLE_RETURN_IF_ERROR(config::ValidateJobSpec(spec));
  SPINDLE_RETURN_IF_ERROR(CheckCost(cost));
  internal::Evaluation evaluation = internal::Evaluate(spec, inventory, cost);
  if (!evaluation.feasible()) return internal::Refuse(spec, inventory, cost, evaluation);

  Plan plan;
  plan.cost = cost;
  plan.chosen = evaluation.candidates.front();
  plan.alternatives.assign(evaluation.candidates.begin() + 1, evaluation.candidates.end());
  const Candidate& c = plan.chosen;
  // The winner was priced from these very calls, so they succeed again.
  const NodeSet nodes = *internal::SelectNodes(spec, inventory, c.nodes);
  config::JobSpec fixed = spec;
  fixed.parallel.dp = c.dp;
  fixed.parallel.sp.ulysses = c.ulysses;
  fixed.parallel.sp.ring = c.ring;
  const config::ResolvedParallel r = *config::ResolveParallel(fixed, nodes.world());
  const config::ModelSpec& m = spec.model;
  const layout::HeadPlan heads =
      *layout::PlanHeads(m.num_attention_heads, m.num_key_value_heads, c.ulysses);
  const layout::SequenceLayout seq = *layout::SequenceLayout::Create(
      spec.parallel.sp.layout, spec.data.seq_len, c.ulysses, c.ring);

  plan.layout = seq.kind();
  plan.seq_len = seq.seq_len();
  plan.padded_len = seq.padded_len();
  plan.global_batch_seqs = r.global_batch_seqs;
  plan.micro_batch_seqs = r.micro_batch_seqs;
  plan.grad_accum_steps = r.grad_accum_steps;
  plan.kv_replicas = heads.kv_replicas;
  plan.peak_flops = nodes.peak_flops;

  const layout::MeshDims dims{c.dp, c.ulysses, c.ring};
  std::vector<std::vector<std::pair<int64_t, int64_t>>> ranges(dims.sp());
  for (int p = 0; p < dims.sp(); ++p) ranges[p] = Ranges(seq.Positions(p), seq.seq_len());
  for (int rank = 0; rank < dims.world(); ++rank) {
    const layout::MeshCoord coord = layout::CoordOf(dims, rank);
    RankPlacement p;
    p.rank = rank;
    p.node = nodes.nodes[rank / nodes.devices_per_node];
    const NodeInfo& node = inventory.nodes[p.node];
    p.worker = node.worker;
    p.device = node.devices[rank % nodes.devices_per_node].index;
    p.dp = coord.dp;
    p.ring = coord.ring;
    p.ulysses = coord.ulysses;
    p.first_q_head = heads.first_q_head(coord.ulysses);
    p.num_q_heads = heads.h_local();
    p.first_kv_head = heads.first_kv_wire_head(coord.ulysses);
    p.num_kv_heads = heads.h_kv_local();
    p.token_ranges = ranges[layout::SpRankOf(dims, coord)];
    plan.ranks.push_back(std::move(p));
  }
  plan.notes = Notes(spec, inventory, nodes, plan, std::move(evaluation.notes));
  return plan;
}

}  // namespace spindle::planner
