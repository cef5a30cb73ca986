// The planner's cost model for one candidate: memory per device, step time
// (compute, communication, overlap) and bytes per link, from the job, the
// resolved degrees and the nodes it would run on. The formulas and their
// assumptions are written once, at the top of cost_model.cc (and in
// docs/planner.md). Internal to spindle_planner; no enumeration or choice
// here (candidates.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config/job_spec.h"
#include "common/config/resolve.h"
#include "coordinator/planner/plan.h"

namespace spindle::planner::internal {

// The nodes a candidate runs on and the weakest figures among them: the
// step waits for its slowest member, so memory, peak and bandwidth are minima
// over the nodes and devices used.
struct NodeSet {
  std::vector<int> nodes;           // indices into Inventory::nodes, in placement order
  int devices_per_node = 0;         // devices used on each node: its first ones
  int64_t memory_bytes = 0;         // smallest device memory, bytes
  double peak_flops = 0;            // smallest dense peak at the job's precision, FLOP/s
  bool bf16_peak = false;           // every device used has a bf16 peak and the job is bf16
  double intra_node_bandwidth = 0;  // bytes/s per device, smallest over the nodes
  double inter_node_bandwidth = 0;  // bytes/s per device, smallest over the nodes
  int count() const { return static_cast<int>(nodes.size()); }
  int world() const { return count() * devices_per_node; }
};

// Bytes of one activation element: 2 under precision bf16, else 4.
int64_t ActivationBytes(const config::JobSpec& spec);

// Fills c's memory, time, traffic, mfu and tokens_per_second for degrees r
// on nodes, and sets c->feasible (false with a verdict when the memory does
// not fit or a link the candidate needs has no bandwidth). c's nodes,
// devices_per_node and degrees must already be set; r must have passed
// config::ResolveParallel for nodes.world().
void PriceCandidate(const config::JobSpec& spec, const config::ResolvedParallel& r,
                    const NodeSet& nodes, const CostModelOptions& cost, Candidate* c);

// Tokens per rank below which a ring step's transfer outlasts its
// attention block on a link of the given bandwidth (sp-algorithms §6:
// S/P >= g·b·F / (2·f·BW), f = 1/2 for zigzag off-diagonal blocks).
double RingOverlapThreshold(const config::JobSpec& spec, double effective_flops, double bandwidth);

}  // namespace spindle::planner::internal
