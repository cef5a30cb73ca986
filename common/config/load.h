// YAML job spec -> JobSpec: parse, apply --set overrides, fill presets and
// defaults, validate (ValidateJobSpec). The one entry point for the CLI and
// the coordinator. Writing specs back is emit.h; choosing `auto` degrees for
// a world size is resolve.h.
//
// Strict: unknown keys (with a did-you-mean), duplicate keys, wrong types,
// out-of-range values and unknown enum values are errors. Errors are
// InvalidArgument, one per line, each "<where>: <field path>: <problem>",
// where <where> is "<source>:<line>:<column>" from the YAML (or just
// "<source>" for a missing field) or "--set <override>" for a value an
// override wrote:
//   job.yaml:12:5: train.optimizer.lr_warmup: unknown field; did you mean
//   train.schedule.warmup_steps?
// Field paths are relative to `spec:` (train.optimizer.lr); apiVersion, kind
// and metadata.* are top-level. Type errors are reported together; range and
// cross-field errors (validate.h) are reported together once types are right.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/config/job_spec.h"

namespace spindle::config {

// overrides: "key.path=value" strings from `--set` (without the flag), applied
// in order to the YAML tree before validation. The key is a field path as in
// errors (train.max_steps; spec.train.max_steps also works); the value is read
// as YAML ("auto", "90s", "[0.9, 0.99]"; empty = empty string). Missing
// sections are created.
//
// Order: overrides, then model.preset fills the architecture, then the model
// fields written in the spec override it, then FillDefaults, then
// ValidateJobSpec.
absl::StatusOr<JobSpec> ParseJobSpec(std::string_view yaml_text, std::string_view source_name,
                                     absl::Span<const std::string> overrides = {});

// Reads the file (NotFound if it cannot) and parses it with the path as
// source name.
absl::StatusOr<JobSpec> LoadJobSpecFile(const std::string& path,
                                        absl::Span<const std::string> overrides = {});

// Fills the defaults that depend on other fields, where still unset (0 or
// empty); idempotent. For specs built in code before ValidateJobSpec:
//   model.num_key_value_heads      = model.num_attention_heads
//   model.max_position_embeddings  = max(data.seq_len, 2048)
//   data.global_batch_seqs         = parallel.dp × data.micro_batch_seqs (dp fixed)
//   checkpoint.dir                 = ./checkpoints/<metadata.name>
void FillDefaults(JobSpec* spec);

}  // namespace spindle::config
