// Spec texts shared by the config tests, and gtest printing of a JobSpec as
// its canonical YAML.
#pragma once

#include <ostream>
#include <string>

#include "common/config/emit.h"
#include "common/config/job_spec.h"

namespace spindle::config {

// gtest prints a mismatching JobSpec as YAML.
inline void PrintTo(const JobSpec& spec, std::ostream* os) { *os << "\n" << EmitJobSpec(spec); }

namespace testing {

// The least a valid spec must say; every other field takes its default.
// Line numbers matter to the tests: keep the layout.
inline const std::string kMinimalYaml = R"(apiVersion: spindle/v1
kind: TrainJob
metadata:
  name: minimal
spec:
  model:
    hidden_size: 64
    intermediate_size: 128
    num_hidden_layers: 2
    num_attention_heads: 4
    vocab_size: 256
  data:
    source: synthetic
    seq_len: 128
  train:
    max_steps: 10
)";

// kMinimalYaml with `spec:` replaced by `spec:` + extra (indented 2 spaces),
// so extra sections come first and keep their own line numbers: the first
// line of extra is line 6.
inline std::string MinimalWith(const std::string& extra) {
  std::string text = kMinimalYaml;
  text.insert(text.find("spec:\n") + 6, extra);
  return text;
}

}  // namespace testing
}  // namespace spindle::config
