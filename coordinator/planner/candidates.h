// Candidate enumeration and choice: which nodes a job would use for each node
// count, every (dp, U, R) for that world consistent with the spec, each
// priced by the cost model (cost_model.h), sorted, and each loser given its
// verdict. Internal to spindle_planner; MakePlan (plan.cc) turns the winner
// into a Plan, refusal.cc explains when there is none.
//
// Order (fixed, so plans are deterministic):
//   enumeration  node count ascending (resources.nodes.min..max, at most the
//                usable nodes), then sp = U·R ascending, then U ascending;
//   choice       feasible candidates by predicted seconds per sequence
//                (step total / global_batch_seqs: the step time whenever the
//                global batch is fixed), ties to fewer nodes, then smaller
//                U·R, then smaller U; infeasible ones follow in enumeration
//                order.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/job_spec.h"
#include "coordinator/planner/cost_model.h"
#include "coordinator/planner/plan.h"

namespace spindle::planner::internal {

struct Evaluation {
  // Feasible candidates best first (the first is the plan), then the
  // infeasible ones. A node count for which no degrees exist at all appears
  // once, with dp = ulysses = ring = 0 and the reason as its verdict.
  std::vector<Candidate> candidates;
  std::vector<std::string> notes;  // about the node range, one line each
  std::string no_nodes;            // why no node count could be tried; "" otherwise
  bool feasible() const { return !candidates.empty() && candidates.front().feasible; }
};

// Indices into inventory.nodes of the nodes of the job's device kind with
// free devices: most free devices first, ties in inventory order.
std::vector<int> UsableNodes(const config::JobSpec& spec, const Inventory& inventory);

// The first `count` usable nodes (placed in inventory order) with their
// weakest figures, or FailedPrecondition saying why they cannot host the job
// (too few nodes, a fixed devices_per_node they lack, a device without
// memory or peak figures).
absl::StatusOr<NodeSet> SelectNodes(const config::JobSpec& spec, const Inventory& inventory,
                                    int count);

// Every candidate for spec on inventory, ordered as above, verdicts written.
Evaluation Evaluate(const config::JobSpec& spec, const Inventory& inventory,
                    const CostModelOptions& cost);

// "dp 1 × U 8 × R 2 on 2 nodes × 8" (or "2 nodes × 8" without degrees).
std::string Describe(const Candidate& c);

}  // namespace spindle::planner::internal
