// Training checkpoints: everything a run needs to continue exactly where it
// stopped, in a directory committed atomically by common/checkpoint:
//   model.safetensors      fp32 weights under Hugging Face names (what
//                          `spindle-eval` and other tools read directly)
//   config.json            the Hugging Face LlamaConfig
//   optimizer.safetensors  AdamW moments "exp_avg.<param>", "exp_avg_sq.<param>"
//   trainer_state.json     step, optimizer step, data cursor, seeds, batch
//                          shape; see TrainerState
// The optimizer state is gathered whole from its shards before writing and
// each rank keeps its share on loading, so a checkpoint does not depend on
// the DP/SP layout that wrote it: resuming with other degrees works.
// Randomness is counter-based (weights from (seed, name), data from (seed,
// sequence index)), so seeds and the step are the whole RNG state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/train/trainer.h"

namespace spindle::train {

struct TrainerState {
  int64_t step = 0;             // optimizer steps done
  int64_t optimizer_steps = 0;  // AdamW's bias-correction counter
  int64_t data_cursor = 0;      // next global sequence index = step × global_batch_seqs
  int64_t global_batch_seqs = 0;
  int64_t seq_len = 0;
  uint64_t init_seed = 0;
  uint64_t data_seed = 0;
};

// Collective over the trainer's world group: every rank calls it after the
// same step; rank 0 writes and commits <root>/step-<step>, then prunes to
// keep_last. Returns the committed directory on every rank.
absl::StatusOr<std::string> SaveCheckpoint(Trainer& trainer, const std::string& root,
                                           uint64_t data_seed, int keep_last);

// Collective: rank 0 finds the newest valid checkpoint under root (torn or
// corrupt ones are skipped, each reason appended to *skipped on rank 0) and
// every rank loads it. Returns the state, or nullopt when there is none.
// Errors when the checkpoint's model or sequence length differ from the
// trainer's options.
absl::StatusOr<std::optional<TrainerState>> ResumeLatest(Trainer& trainer, const std::string& root,
                                                         std::vector<std::string>* skipped);

// Loads one checkpoint directory (verified first) into the trainer; not collective.
absl::StatusOr<TrainerState> LoadCheckpoint(Trainer& trainer, const std::string& dir);

}  // namespace spindle::train
