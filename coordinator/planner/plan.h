// The planner: from a validated job spec and a cluster inventory, choose how
// to cut the job up and where to run it, and say why. A pure function: no
// I/O, no clock, deterministic for its inputs (candidates are enumerated and
// tie-broken in a fixed order), so the CLI can run it as a dry run and tests
// can assert its choices.
//
// What it decides:
//   - world size: nodes × devices per node within spec.resources;
//   - DP × U × R (each fixed degree in the spec is kept; `auto` ones are
//     enumerated), the Ulysses degree limited by the heads (layout/head_plan);
//   - placement, rank → (node, device): world ranks are laid out by the mesh
//     (layout/mesh.h: Ulysses fastest, then ring, DP outermost) onto nodes in
//     order, so a Ulysses group sits inside one node whenever U divides the
//     devices per node, and ring/DP groups cross nodes;
//   - per rank: its mesh coordinates, the query heads and (replicated) KV
//     heads it owns after the all-to-all, its token positions as ranges;
//   - predictions per candidate: memory per device (weights, gradients,
//     optimizer, activations, logits, workspace), step time split into
//     compute, communication, its overlapped part and exposed part, bytes per
//     rank per step on each group and link kind, and MFU (Megatron FLOPs).
// It picks the feasible candidate with the smallest predicted step time (per
// sequence, which is the step time whenever the global batch is fixed) and
// keeps every other candidate with the reason it lost (slower by x%, or the
// constraint it broke). When nothing is feasible it returns
// FailedPrecondition naming the binding constraint and the nearest feasible
// change ("set train.activation_checkpointing: full", "needs 2 more nodes",
// "set parallel.sp.ulysses: auto", ...).
//
// The cost model's formulas are written at the top of cost_model.cc and in
// docs/planner.md; the enumeration and tie-break order in candidates.h; the
// order in which nearest changes are tried in refusal.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/job_spec.h"
#include "common/layout/sequence_layout.h"

namespace spindle::planner {

struct DeviceInfo {
  int index = 0;               // CUDA ordinal, or CPU slot number
  std::string name;            // "NVIDIA H100 80GB HBM3", "cpu"
  int64_t memory_bytes = 0;    // usable memory per device
  double peak_flops_fp32 = 0;  // dense FLOP/s in fp32
  double peak_flops_bf16 = 0;  // dense FLOP/s in bf16 (0: the device has no bf16 path)
};

// One worker daemon = one node.
struct NodeInfo {
  std::string worker;  // worker id (unique)
  std::string host;    // for display
  config::Device kind = config::Device::kCpu;
  std::vector<DeviceInfo> devices;  // free devices only, when scheduling
  double intra_node_bandwidth = 0;  // bytes/s per device, one direction (NVLink, loopback)
  double inter_node_bandwidth = 0;  // bytes/s per device to other nodes (IB/RoCE NIC share)
};

struct Inventory {
  std::vector<NodeInfo> nodes;
};

// Model-efficiency knobs of the cost model, stated so a prediction can be
// traced. Defaults are the planner's assumptions, printed by ExplainPlan.
struct CostModelOptions {
  double compute_efficiency = 0.5;  // achieved / peak FLOP/s on matmuls
  double memory_headroom = 0.10;    // fraction of device memory kept free
};

struct RankPlacement {
  int rank = 0;
  int node = 0;  // index into Inventory::nodes
  std::string worker;
  int device = 0;                                         // DeviceInfo::index
  int dp = 0, ring = 0, ulysses = 0;                      // mesh coordinates
  int first_q_head = 0, num_q_heads = 0;                  // query heads after the all-to-all
  int first_kv_head = 0, num_kv_heads = 0;                // replicated numbering (head_plan.h)
  std::vector<std::pair<int64_t, int64_t>> token_ranges;  // [begin, end) of real tokens
};

struct MemoryEstimate {  // bytes per device, the largest rank
  int64_t weights = 0, gradients = 0, optimizer = 0, activations = 0, logits = 0, workspace = 0;
  int64_t total = 0;
  int64_t capacity = 0;  // device memory × (1 − headroom)
};

struct TrafficEstimate {  // per rank per optimizer step
  std::string group;      // "ulysses" | "ring" | "dp"
  bool inter_node = false;
  int64_t bytes = 0;
  double seconds = 0;  // at the link's bandwidth
  double exposed = 0;  // the part of seconds not hidden behind compute
};

struct StepTimeEstimate {  // seconds per optimizer step
  double compute = 0;
  double communication = 0;  // all traffic at its link bandwidth
  double overlapped = 0;     // hidden behind compute
  double exposed = 0;        // communication − overlapped
  double total = 0;          // compute + exposed
};

struct Candidate {
  int nodes = 0, devices_per_node = 0;
  int dp = 1, ulysses = 1, ring = 1;
  bool feasible = false;
  std::string verdict;  // why it lost or was refused; "chosen" for the plan
  MemoryEstimate memory;
  StepTimeEstimate time;
  std::vector<TrafficEstimate> traffic;
  double mfu = 0;  // Megatron model FLOPs / (world × peak)
  double tokens_per_second = 0;
};

struct Plan {
  Candidate chosen;
  layout::LayoutKind layout = layout::LayoutKind::kZigzag;
  int64_t seq_len = 0, padded_len = 0;
  int64_t global_batch_seqs = 0, micro_batch_seqs = 0, grad_accum_steps = 0;
  int kv_replicas = 1;    // copies of each key/value head on the wire (layout/head_plan.h)
  double peak_flops = 0;  // dense FLOP/s per device behind time and MFU (the weakest device)
  int world() const { return chosen.dp * chosen.ulysses * chosen.ring; }
  std::vector<RankPlacement> ranks;     // world() entries, by rank
  std::vector<Candidate> alternatives;  // every other candidate considered, best first
  std::vector<std::string> notes;       // assumptions and warnings, one line each
  CostModelOptions cost;
};

// spec: passed config::ValidateJobSpec. Never aborts on user input:
// InvalidArgument when the spec fails ValidateJobSpec or cost is out of range
// (compute_efficiency in (0, 1], memory_headroom in [0, 1)); FailedPrecondition
// naming the binding constraint and the nearest change when no candidate fits.
absl::StatusOr<Plan> MakePlan(const config::JobSpec& spec, const Inventory& inventory,
                              const CostModelOptions& cost = {});

// The plan for people: chosen degrees and why, placement table (compressed
// for large worlds), heads and token ranges per rank (first few and last),
// memory breakdown, step time split, bytes per link, MFU, alternatives with
// their verdicts, notes. Lines under 100 columns.
std::string ExplainPlan(const Plan& plan, const config::JobSpec& spec);

}  // namespace spindle::planner
