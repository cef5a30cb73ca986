// The Ulysses pack/unpack and row-gather kernels against their documented
// index maps, element for element, and each pack against its inverse.
// Skipped without a GPU.
#include "kernels/cuda/layout_copy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "tests/kernels/cuda/device_buffer.h"
#include "tests/kernels/layout_copy_maps.h"

namespace spindle::kernels::cuda {
namespace {

using testing::DeviceBuffer;

using namespace kernels::layout_maps;  // the shared problem and its index maps

TEST(LayoutCopyCudaTest, PackHeadsPutsHeadGroupJInSegmentJ) {
  SPINDLE_REQUIRE_GPU();
  const std::vector<uint16_t> in = Iota(kB * kS * kH * kD);
  DeviceBuffer<uint16_t> din(in), send(in.size()), back(in.size());
  ASSERT_TRUE(
      UlyssesPackHeads(Shape(), {din.get(), kS * kH * kD, kH * kD, kD}, send.get(), nullptr).ok());
  EXPECT_TRUE(IsPackedByHeads(send.Read(), in));
  ASSERT_TRUE(
      UlyssesUnpackHeads(Shape(), send.get(), {back.get(), kS * kH * kD, kH * kD, kD}, nullptr)
          .ok());
  EXPECT_EQ(back.Read(), in);
}

TEST(LayoutCopyCudaTest, UnpackTokensPlacesRankITokensAtRowIS) {
  SPINDLE_REQUIRE_GPU();
  const std::vector<uint16_t> recv = Iota(kP * kSeg);
  DeviceBuffer<uint16_t> drecv(recv), out(recv.size()), again(recv.size());
  const int64_t rows = kP * kS;
  ASSERT_TRUE(
      UlyssesUnpackTokens(Shape(), drecv.get(), {out.get(), rows * kHp * kD, kHp * kD, kD}, nullptr)
          .ok());
  EXPECT_TRUE(IsUnpackedByTokens(out.Read(), recv));
  ASSERT_TRUE(
      UlyssesPackTokens(Shape(), {out.get(), rows * kHp * kD, kHp * kD, kD}, again.get(), nullptr)
          .ok());
  EXPECT_EQ(again.Read(), recv);
}

TEST(LayoutCopyCudaTest, GatherRowsFollowsTheIndex) {
  SPINDLE_REQUIRE_GPU();
  const int64_t rows = 6;
  const std::vector<uint16_t> in = Iota(kB * rows * kH * kD);
  const std::vector<int64_t> index = {0, 5, 1, 4, 2, 3};  // a zigzag order of 3 ranks
  DeviceBuffer<uint16_t> din(in), out(in.size());
  DeviceBuffer<int64_t> dindex(index);
  ASSERT_TRUE(GatherRows({kB, rows, kH, kD, 2}, {din.get(), rows * kH * kD, kH * kD, kD},
                         dindex.get(), {out.get(), rows * kH * kD, kH * kD, kD}, nullptr)
                  .ok());
  const std::vector<uint16_t> got = out.Read();
  for (int64_t b = 0; b < kB; ++b)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t x = 0; x < kH * kD; ++x)
        ASSERT_EQ(got[(b * rows + i) * kH * kD + x], in[(b * rows + index[i]) * kH * kD + x]);
}

TEST(LayoutCopyCudaTest, RefusesHeadsThatAreNotContiguous) {
  UlyssesShape u = Shape();
  static uint16_t buf[16];
  auto s = UlyssesPackHeads(u, {buf, 1, 1, kD + 2}, buf, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("heads contiguous"), std::string::npos) << s;
  u.P = 3;
  s = UlyssesPackHeads(u, {buf, 1, 1, kD}, buf, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("P dividing h"), std::string::npos) << s;
}

}  // namespace
}  // namespace spindle::kernels::cuda
