#include "common/layout/flops.h"

#include "gtest/gtest.h"

namespace spindle::layout {
namespace {

// Llama-3-8B: the published per-token figures of performance.md §1.
ModelShape Llama3_8B() { return {4096, 14336, 32, 32, 8, 128256}; }

TEST(Flops, Llama3_8BMatchesTheReferenceTable) {
  const ModelShape m = Llama3_8B();
  EXPECT_NEAR(6.0 * MatmulParameters(m) / 1e9, 45.0, 0.05);
  const struct {
    int64_t s;
    double megatron, palm;
  } rows[] = {
      {8192, 51.5, 57.9}, {32768, 70.8, 96.6}, {131072, 148.1, 251.2}, {1 << 20, 869.7, 1694.3}};
  for (const auto& r : rows) {
    EXPECT_NEAR(MegatronFlopsPerToken(m, r.s) / 1e9, r.megatron, 0.1) << r.s;
    EXPECT_NEAR(PalmFlopsPerToken(m, r.s) / 1e9, r.palm, 0.1) << r.s;
  }
}

TEST(Flops, GqaShrinksOnlyTheKeyValueProjections) {
  ModelShape mha = Llama3_8B();
  mha.kv_heads = mha.heads;
  const int64_t diff = MatmulParameters(mha) - MatmulParameters(Llama3_8B());
  EXPECT_EQ(diff, 32 * 2 * 4096 * (4096 - 1024));
}

TEST(Flops, KnownGpuPeaksByDriverName) {
  EXPECT_EQ(KnownGpuPeak("NVIDIA H100 80GB HBM3").bf16, 989e12);
  EXPECT_EQ(KnownGpuPeak("NVIDIA H200").bf16, 989e12);
  EXPECT_EQ(KnownGpuPeak("NVIDIA H100 PCIe").bf16, 756e12);
  EXPECT_EQ(KnownGpuPeak("NVIDIA H100 NVL").bf16, 835e12);
  EXPECT_EQ(KnownGpuPeak("NVIDIA A100-SXM4-80GB").bf16, 312e12);
  EXPECT_EQ(KnownGpuPeak("NVIDIA GeForce RTX 4090").bf16, 0);
}

}  // namespace
}  // namespace spindle::layout
