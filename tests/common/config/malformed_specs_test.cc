// The malformed job specs of the fuzz seed corpus (tests/fuzz/corpus/
// job_spec_fuzz/bad-*.yaml): each gives every error with its file, line,
// column, field path and fix.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/config/load.h"

namespace spindle::config {
namespace {

using ::testing::HasSubstr;

struct Case {
  const char* file;
  std::vector<std::string> errors;
};

TEST(MalformedSpecsTest, EachNamesWhereWhatAndHow) {
  const Case cases[] = {
      {"bad-unknown-key.yaml",
       {"bad-unknown-key.yaml:5:25: model.hiden_size: unknown field; did you mean "
        "model.hidden_size?"}},
      {"bad-types.yaml",
       {"bad-types.yaml:6:58: data.global_batch_seqs: expected an integer or auto, got a list",
        "bad-types.yaml:7:55: parallel.sp.layout: 'spiral' is not one of contiguous, zigzag, "
        "striped",
        "bad-types.yaml:8:43: train.optimizer.lr: expected a number, got 'fast'",
        "bad-types.yaml:8:58: train.optimizer.sharded: expected true or false, got 'maybe'",
        "bad-types.yaml:9:30: checkpoint.every.time: '10 lightyears' is not a duration; write "
        "e.g. 90s"}},
      {"bad-yaml.yaml", {"bad-yaml.yaml:2:5: invalid YAML: end of sequence flow not found"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    absl::StatusOr<JobSpec> spec =
        LoadJobSpecFile(std::string(SPINDLE_FUZZ_CORPUS_DIR) + "/job_spec_fuzz/" + c.file);
    ASSERT_FALSE(spec.ok());
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    for (const std::string& e : c.errors) EXPECT_THAT(spec.status().message(), HasSubstr(e));
  }
}

}  // namespace
}  // namespace spindle::config
