// What one rank of a job needs, derived from the validated job spec: the
// trainer's options, the data source's, the mesh and the run's length. Pure.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "common/config/job_spec.h"
#include "common/config/resolve.h"
#include "common/data/token_source.h"
#include "common/layout/mesh.h"
#include "worker/model/llama_config.h"
#include "worker/train/trainer.h"

namespace spindle::train {

model::LlamaConfig LlamaConfigOf(const config::ModelSpec& model);

data::TokenSourceOptions TokenSourceOptionsOf(const config::JobSpec& spec);

struct RankPlan {
  layout::MeshDims mesh;
  TrainerOptions trainer;  // .data left unset: the caller binds a TokenSource
  int64_t total_steps = 0;
};

// Resolves the parallel degrees for `world` ranks and maps every section
// onto the trainer. Errors name the spec field, including what a cuda job
// needs of the CUDA kernels (bf16, head dim 64 or 128).
absl::StatusOr<RankPlan> PlanRank(const config::JobSpec& spec, int world);

}  // namespace spindle::train
