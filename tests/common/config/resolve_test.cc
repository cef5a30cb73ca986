#include "common/config/resolve.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/config/load.h"
#include "common/status.h"

namespace spindle::config {
namespace {

using ::testing::HasSubstr;

constexpr char kPresetYaml[] = R"(apiVersion: spindle/v1
kind: TrainJob
metadata:
  name: resolve
spec:
  model:
    preset: tiny
  data:
    source: synthetic
    seq_len: 256
  train:
    max_steps: 10
)";

// The tiny preset (4 heads, 2 KV heads) with the given overrides.
JobSpec Tiny(std::vector<std::string> overrides = {}) {
  auto spec = ParseJobSpec(kPresetYaml, "job.yaml", overrides);
  SPINDLE_CHECK(spec.ok()) << spec.status();
  return *spec;
}

struct Want {
  int dp, ulysses, ring;
  int64_t global_batch_seqs, grad_accum_steps;
};

void ExpectResolves(const JobSpec& spec, int world, Want want) {
  auto r = ResolveParallel(spec, world);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->world_size, world);
  EXPECT_EQ(r->dp, want.dp);
  EXPECT_EQ(r->ulysses, want.ulysses);
  EXPECT_EQ(r->ring, want.ring);
  EXPECT_EQ(r->dp * r->sp(), world);
  EXPECT_EQ(r->global_batch_seqs, want.global_batch_seqs);
  EXPECT_EQ(r->grad_accum_steps, want.grad_accum_steps);
}

std::string ResolveError(const JobSpec& spec, int world) {
  auto r = ResolveParallel(spec, world);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : std::string(r.status().message());
}

TEST(ResolveTest, AllAutoPutsTheWorldIntoSequenceParallelism) {
  // Ulysses takes the largest degree that splits 4 heads / 2 KV heads.
  ExpectResolves(Tiny(), 1, {1, 1, 1, 1, 1});
  ExpectResolves(Tiny(), 2, {1, 2, 1, 1, 1});
  ExpectResolves(Tiny(), 4, {1, 4, 1, 1, 1});  // KV heads replicated twice
  ExpectResolves(Tiny(), 8, {1, 4, 2, 1, 1});
  ExpectResolves(Tiny(), 6, {1, 2, 3, 1, 1});
  ExpectResolves(Tiny(), 7, {1, 1, 7, 1, 1});
}

TEST(ResolveTest, SmallPresetHeads) {
  // 12 heads, 4 KV heads: degree 8 does not divide 12, 4 does.
  JobSpec spec = Tiny({"model.preset=small-100m"});
  ExpectResolves(spec, 8, {1, 4, 2, 1, 1});
  ExpectResolves(spec, 12, {1, 12, 1, 1, 1});
}

TEST(ResolveTest, FixedSequenceDegreesLeaveTheRestToDp) {
  ExpectResolves(Tiny({"parallel.sp.ulysses=2", "parallel.sp.ring=2"}), 8, {2, 2, 2, 2, 1});
  ExpectResolves(Tiny({"parallel.sp.ulysses=2", "parallel.sp.ring=2", "data.global_batch_seqs=8"}),
                 8, {2, 2, 2, 8, 4});
  EXPECT_EQ(ResolveError(Tiny({"parallel.sp.ulysses=2", "parallel.sp.ring=3"}), 8),
            "parallel.sp: ulysses × ring = 2 × 3 = 6 does not divide the world size 8 "
            "(parallel.dp is auto)");
}

TEST(ResolveTest, OneAutoDegreeTakesWhatIsLeft) {
  ExpectResolves(Tiny({"parallel.dp=2", "parallel.sp.ulysses=2"}), 8, {2, 2, 2, 2, 1});
  ExpectResolves(Tiny({"parallel.sp.ring=4"}), 8, {1, 2, 4, 1, 1});
  ExpectResolves(Tiny({"parallel.dp=2", "data.micro_batch_seqs=2", "data.global_batch_seqs=12"}), 4,
                 {2, 2, 1, 12, 3});
  EXPECT_EQ(ResolveError(Tiny({"parallel.sp.ulysses=4"}), 6),
            "parallel.sp.ulysses: 4 does not divide the 6 ranks left for sequence parallelism "
            "(world size 6 / parallel.dp 1); use one of 1, 2, 3, 6");
  EXPECT_THAT(ResolveError(Tiny({"parallel.sp.ring=1"}), 8),
              HasSubstr("parallel.sp.ulysses (auto: 8 / ring 1): degree 8 cannot split 4 query "
                        "heads and 2 key/value heads evenly"));
}

TEST(ResolveTest, FixedDegreesMustMultiplyToTheWorld) {
  const JobSpec demo = Tiny({"parallel.dp=1", "parallel.sp.ulysses=2", "parallel.sp.ring=2"});
  ExpectResolves(demo, 4, {1, 2, 2, 1, 1});
  EXPECT_EQ(ResolveError(demo, 8),
            "parallel.sp: ulysses × ring = 2 × 2 = 4 but there are 8 ranks left for sequence "
            "parallelism (world size 8 / parallel.dp 1); change them or set one to auto");
  EXPECT_EQ(ResolveError(Tiny({"parallel.dp=3"}), 8),
            "parallel.dp: 3 does not divide the world size 8; use one of 1, 2, 4, 8 or auto");
  EXPECT_EQ(ResolveError(Tiny(), 0), "world size must be >= 1, got 0");
}

TEST(ResolveTest, GlobalBatchMustDivideByResolvedDp) {
  const JobSpec spec =
      Tiny({"parallel.sp.ulysses=1", "parallel.sp.ring=1", "data.global_batch_seqs=6"});
  ExpectResolves(spec, 3, {3, 1, 1, 6, 2});
  EXPECT_EQ(ResolveError(spec, 4),
            "data.global_batch_seqs: 6 is not divisible by dp × micro_batch_seqs = 4 × 1 = 4 (dp "
            "resolved for world size 4)");
}

TEST(ResolveTest, LightSeqKeepsTheRingEven) {
  const JobSpec spec = Tiny({"parallel.sp.schedule=lightseq", "parallel.sp.layout=contiguous"});
  // Ulysses 2 would leave ring 3; 6 and 3 do not split 4 heads; so ulysses 1, ring 6.
  ExpectResolves(spec, 6, {1, 1, 6, 1, 1});
  ExpectResolves(spec, 8, {1, 4, 2, 1, 1});
  EXPECT_THAT(ResolveError(Tiny({"parallel.sp.schedule=lightseq", "parallel.sp.layout=contiguous",
                                 "parallel.sp.ulysses=1"}),
                           3),
              HasSubstr("parallel.sp.ring: lightseq needs an even ring degree (or 1), got 3"));
}

}  // namespace
}  // namespace spindle::config
