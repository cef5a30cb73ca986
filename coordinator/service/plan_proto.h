// planner::Plan -> spindle.v1.Plan (proto/spindle/v1/plan.proto), for the job
// API (PlanJob, Job.plan) and `spindle plan -o json`. One direction only: the
// coordinator keeps the planner's structs and never reads a plan back from
// the wire.
#pragma once

#include "common/config/job_spec.h"
#include "coordinator/planner/plan.h"
#include "spindle/v1/plan.pb.h"

namespace spindle::service {

// Replaces *out with every field of the candidate.
void ToProto(const planner::Candidate& candidate, spindle::v1::PlanCandidate* out);

// Replaces *out with every field of the plan; explanation =
// planner::ExplainPlan(plan, spec). spec: the job the plan was made for.
void ToProto(const planner::Plan& plan, const config::JobSpec& spec, spindle::v1::Plan* out);

}  // namespace spindle::service
