// Why a job has no feasible plan, and the nearest change that would give it
// one. Internal to spindle_planner (MakePlan returns this status).
//
// The binding constraint: device memory when any candidate failed only for
// memory (the smallest such candidate is named with its breakdown), else the
// first candidate's reason (a degree that does not fit the world or the
// heads, a batch that does not divide, too few nodes).
//
// The nearest change: each of these is tried alone on the spec as written,
// in this order, and the first that yields a feasible plan is reported with
// that plan's degrees and memory:
//   1. resources.nodes.min lowered to the nodes available (when above them);
//   2. stronger train.activation_checkpointing: attention, then full;
//   3. more nodes: resources.nodes.max raised within the inventory, then
//      hypothetical nodes like the inventory's largest ("needs 2 more cuda
//      nodes"), up to max(resources.nodes.max, 4 × available) and 256;
//   4. one fixed degree set to auto (parallel.sp.ulysses, parallel.sp.ring,
//      parallel.dp, resources.devices_per_node), then all of them;
//   5. a smaller data.micro_batch_seqs (the largest that fits).
// When none fits, the smallest memory need seen is stated against the
// memory available.
#pragma once

#include "absl/status/status.h"
#include "common/config/job_spec.h"
#include "coordinator/planner/candidates.h"
#include "coordinator/planner/plan.h"

namespace spindle::planner::internal {

// evaluation: Evaluate(spec, inventory, cost), with no feasible candidate.
absl::Status Refuse(const config::JobSpec& spec, const Inventory& inventory,
                    const CostModelOptions& cost, const Evaluation& evaluation);

}  // namespace spindle::planner::internal
