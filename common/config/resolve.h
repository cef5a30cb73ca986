// Turns the `auto` parallel degrees of a valid JobSpec into numbers for a
// world size and derives gradient accumulation. Pure and deterministic; no
// memory or step-time model (that is the planner's).
//
// The rule:
//   1. dp as written; auto -> world / (ulysses × ring) when both sequence-
//      parallel degrees are written, else 1 (sequence parallelism takes the
//      world).
//   2. sp = world / dp.
//   3. ulysses and ring as written; one auto -> sp / the other; both auto ->
//      ulysses = the largest divisor u of sp that splits the heads (u divides
//      num_attention_heads, and divides or is a multiple of
//      num_key_value_heads: KV heads are replicated when u exceeds them; see
//      layout/head_plan.h) and, for the lightseq schedule, leaves sp / u even
//      or 1; ring = sp / ulysses.
//   4. global_batch_seqs as written, or dp × micro_batch_seqs;
//      grad_accum_steps = global_batch_seqs / (dp × micro_batch_seqs).
// Worked example: preset tiny (4 heads, 2 KV heads), world 8, all auto ->
// dp 1, sp 8, ulysses 4 (8 does not divide 4 heads), ring 2, batch 1, accum 1.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "common/config/job_spec.h"

namespace spindle::config {

struct ResolvedParallel {
  int world_size = 1;
  int dp = 1;                                // data-parallel replicas
  int ulysses = 1;                           // U
  int ring = 1;                              // R
  int sp() const { return ulysses * ring; }  // P = U × R; dp × P = world_size
  int micro_batch_seqs = 1;                  // sequences per DP rank per micro-step
  int64_t global_batch_seqs = 1;             // sequences per optimizer step over all DP ranks
  int64_t grad_accum_steps = 1;              // global_batch_seqs / (dp × micro_batch_seqs)
};

// For a spec that passed ValidateJobSpec (only the fields read here are
// re-checked). InvalidArgument naming the fields when the written degrees do
// not multiply to world_size, a degree cannot split the heads, or the batch
// does not divide.
absl::StatusOr<ResolvedParallel> ResolveParallel(const JobSpec& spec, int world_size);

// Optimizer steps of the run: train.max_steps, or train.max_tokens rounded up
// to whole steps of global_batch_seqs × seq_len tokens.
int64_t TotalSteps(const JobSpec& spec, int64_t global_batch_seqs);

}  // namespace spindle::config
