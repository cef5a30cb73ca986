// The spec → rank plan mapping's refusals of cuda jobs the CUDA kernels
// cannot run, named by field before any process group forms.
#include "worker/train/job_options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/config/load.h"

namespace spindle::train {
namespace {

// The demo job on one rank, head dim 64 (4 heads of 256), on `device`.
absl::StatusOr<RankPlan> Plan(const std::string& device, std::vector<std::string> more) {
  std::vector<std::string> overrides = {
      "model.hidden_size=256",        "model.num_attention_heads=4",
      "model.intermediate_size=512",  "parallel.sp.ulysses=1",
      "parallel.sp.ring=1",           "resources.nodes={min: 1, max: 1}",
      "resources.devices_per_node=1", "resources.device=" + device};
  overrides.insert(overrides.end(), more.begin(), more.end());
  auto spec = config::LoadJobSpecFile(SPINDLE_DEMO_SPEC, overrides);
  if (!spec.ok()) return spec.status();
  return PlanRank(*spec, 1);
}

TEST(JobOptionsTest, CudaJobsNeedBf16AndAKernelHeadDim) {
  EXPECT_TRUE(Plan("cuda", {"train.precision=bf16"}).ok());
  EXPECT_TRUE(Plan("cuda", {"train.precision=bf16", "model.num_attention_heads=2",
                            "model.num_key_value_heads=2"})
                  .ok());  // head dim 128

  const auto fp32 = Plan("cuda", {});
  EXPECT_EQ(fp32.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(fp32.status().message().find("train.precision: fp32 with resources.device: cuda"),
            std::string::npos)
      << fp32.status();
  EXPECT_NE(fp32.status().message().find("set train.precision: bf16"), std::string::npos);

  const auto d32 = Plan("cuda", {"train.precision=bf16", "model.num_attention_heads=8",
                                 "model.num_key_value_heads=8"});
  EXPECT_EQ(d32.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d32.status().message().find("model.hidden_size: head_dim = hidden_size / "
                                        "num_attention_heads = 256 / 8 = 32"),
            std::string::npos)
      << d32.status();
}

TEST(JobOptionsTest, CpuJobsTakeAnyPrecisionAndHeadDim) {
  EXPECT_TRUE(Plan("cpu", {}).ok());
  EXPECT_TRUE(Plan("cpu", {"model.num_attention_heads=8", "model.num_key_value_heads=8"}).ok());
}

}  // namespace
}  // namespace spindle::train
