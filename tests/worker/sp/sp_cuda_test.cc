// Sequence-parallel attention on one GPU over virtual ranks: threads sharing
// the device, exchanging device buffers through the in-process backend
// (comm/cuda_memory.h). Every algorithm, in bf16 and fp16, against
// one-device float64 attention on the same rounded inputs: output and
// dq, dk, dv within relative L2 error 1e-2, traffic exactly the formulas.
// Skips without a device or against a CPU libtorch.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cctype>
#include <string>
#include <vector>

#include "common/comm/cuda_memory.h"
#include "common/comm/local_communicator.h"
#include "common/status.h"
#include "tests/testing/spawn_ranks.h"
#include "worker/sp/self_check.h"

namespace spindle::sp {
namespace {

using layout::LayoutKind;
using layout::RingSchedule;

constexpr double kRelativeTolerance = 1e-2;

SelfCheckConfig Case(int u, int r, LayoutKind kind, bool causal, int64_t s, int d,
                     CheckPrecision precision = CheckPrecision::kCudaBFloat16,
                     RingSchedule schedule = RingSchedule::kRing) {
  SelfCheckConfig c;
  c.ulysses = u;
  c.ring = r;
  c.layout = kind;
  c.schedule = schedule;
  c.heads = 8;
  c.kv_heads = 2;
  c.causal = causal;
  c.seq_len = s;
  c.head_dim = d;
  c.precision = precision;
  c.seed = static_cast<uint64_t>(u * 100 + r * 10 + d + s);
  return c;
}

std::vector<SelfCheckConfig> Cases() {
  return {
      Case(2, 1, LayoutKind::kContiguous, true, 1024, 128),
      Case(4, 1, LayoutKind::kContiguous, false, 1000, 64),
      Case(1, 2, LayoutKind::kContiguous, true, 1024, 128),
      Case(1, 4, LayoutKind::kZigzag, true, 1000, 128),
      Case(1, 4, LayoutKind::kStriped, false, 1024, 64),
      Case(1, 4, LayoutKind::kContiguous, true, 1024, 128, CheckPrecision::kCudaBFloat16,
           RingSchedule::kLightSeq),
      Case(2, 2, LayoutKind::kZigzag, true, 1000, 128),
      Case(2, 4, LayoutKind::kZigzag, true, 2048, 64, CheckPrecision::kCudaFloat16),
      Case(8, 1, LayoutKind::kContiguous, true, 2048, 128, CheckPrecision::kCudaFloat16),
  };
}

std::string Name(const ::testing::TestParamInfo<SelfCheckConfig>& info) {
  std::string name = Describe(info.param);
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

class SpCudaTest : public ::testing::TestWithParam<SelfCheckConfig> {};

TEST_P(SpCudaTest, MatchesOneDeviceAttentionInFloat64) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const SelfCheckConfig& c = GetParam();
  const Reference ref = ComputeReference(c);
  const int world = c.ulysses * c.ring;
  const layout::MeshDims mesh = *layout::MakeMesh(world, 1, c.ulysses, c.ring);
  auto fabric = comm::LocalFabric::Create(world, comm::CudaMemory());
  testing::SpawnRanks(world, [&](int rank) {
    auto groups =
        BuildProcessGroups(mesh, rank, std::chrono::seconds(60),
                           [&](const std::vector<int>& ranks, const comm::CommOptions& options) {
                             return fabric->Connect(ranks, rank, options);
                           });
    ASSERT_TRUE(groups.ok()) << groups.status();
    auto result = RunSelfCheck(c, ref, *groups, /*pool=*/nullptr);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_LE(result->err_o, kRelativeTolerance);
    EXPECT_LE(result->err_dq, kRelativeTolerance);
    EXPECT_LE(result->err_dk, kRelativeTolerance);
    EXPECT_LE(result->err_dv, kRelativeTolerance);
    EXPECT_TRUE(result->finite);
    EXPECT_EQ(result->traffic_diff, 0) << "counted bytes/calls differ from the formulas";
  });
}

INSTANTIATE_TEST_SUITE_P(VirtualRanks, SpCudaTest, ::testing::ValuesIn(Cases()), Name);

}  // namespace
}  // namespace spindle::sp
