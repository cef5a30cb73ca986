#include "common/config/schema.h"

#include <gtest/gtest.h>

#include <string>

#include "common/config/load.h"

namespace spindle::config::schema {
namespace {

TEST(SchemaTest, EditDistanceCountsTranspositionsOnce) {
  EXPECT_EQ(EditDistance("", ""), 0);
  EXPECT_EQ(EditDistance("ring", ""), 4);
  EXPECT_EQ(EditDistance("trian", "train"), 1);
  EXPECT_EQ(EditDistance("max_stpes", "max_steps"), 1);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3);
}

TEST(SchemaTest, ClosestIgnoresCaseAndSeparators) {
  EXPECT_EQ(Closest("hiddenSize", {"hidden_size", "vocab_size"}), "hidden_size");
  EXPECT_EQ(Closest("zigzg", {"contiguous", "zigzag", "striped"}), "zigzag");
  EXPECT_EQ(Closest("banana", {"contiguous", "zigzag", "striped"}), "");
}

TEST(SchemaTest, SuggestLooksBeyondSiblings) {
  EXPECT_EQ(Suggest("spec.train", "max_stpes"), "spec.train.max_steps");
  EXPECT_EQ(Suggest("spec.train", "lr"), "spec.train.optimizer.lr");
  EXPECT_EQ(Suggest("spec.train.optimizer", "lr_warmup"), "spec.train.schedule.warmup_steps");
  EXPECT_EQ(Suggest("spec", "fault-tolerance"), "spec.fault_tolerance");
  EXPECT_EQ(Suggest("spec.parallel", "ulysses"), "spec.parallel.sp.ulysses");
  EXPECT_EQ(Suggest("spec.data", "xyz"), "");
}

TEST(SchemaTest, PathsRoundTripThroughTheirDisplayForm) {
  for (const Field& f : Fields()) {
    EXPECT_EQ(FullPath(DisplayPath(f.path)), f.path);
    EXPECT_NE(DisplayPath(f.path).rfind("spec.", 0), 0u) << f.path;
  }
  EXPECT_EQ(DisplayPath("spec.tokenizer"), "spec.tokenizer");
  EXPECT_EQ(FullPath("metadata.name"), "metadata.name");
  EXPECT_EQ(ChildKeys(""), (std::vector<std::string>{"apiVersion", "kind", "metadata", "spec"}));
}

// Odd documents give errors, never a crash or an exception.
TEST(SchemaTest, OddDocumentsAreErrors) {
  for (const char* yaml : {"spec: [1, 2]\n", "metadata: {name: [x]}\n", "? [a]\n: b\n",
                           "spec:\n  model: ~\n", "*a\n", "a: &x 1\nb: *x\n", "!!binary abc\n",
                           "\t- x\n", "spec:\n  parallel:\n    sp: 3\n", "kind: {a: b}\n"}) {
    auto spec = ParseJobSpec(yaml, "odd.yaml");
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << yaml;
  }
}

}  // namespace
}  // namespace spindle::config::schema
