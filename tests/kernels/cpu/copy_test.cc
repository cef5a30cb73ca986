// The layout copies' descriptors (kernels/layout_copy.h) walked by the host
// loop (kernels/cpu/copy.h) against their documented index maps, element for
// element: the same descriptors the CUDA kernels launch.
#include "kernels/cpu/copy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kernels/layout_copy.h"
#include "tests/kernels/layout_copy_maps.h"

namespace spindle::kernels {
namespace {

using namespace layout_maps;  // the shared problem and its index maps

void Walk(const absl::StatusOr<Copy3dArgs>& args) {
  ASSERT_TRUE(args.ok()) << args.status();
  cpu::Copy3d(*args);
}

TEST(LayoutCopyTest, PackHeadsPutsHeadGroupJInSegmentJAndUnpackHeadsInvertsIt) {
  std::vector<uint16_t> in = Iota(kB * kS * kH * kD), send(in.size()), back(in.size());
  Walk(UlyssesPackHeadsArgs(Shape(), {in.data(), kS * kH * kD, kH * kD, kD}, send.data()));
  EXPECT_TRUE(IsPackedByHeads(send, in));
  Walk(UlyssesUnpackHeadsArgs(Shape(), send.data(), {back.data(), kS * kH * kD, kH * kD, kD}));
  EXPECT_EQ(back, in);
}

TEST(LayoutCopyTest, UnpackTokensPlacesRankITokensAtRowISAndPackTokensInvertsIt) {
  const int64_t rows = kP * kS;
  std::vector<uint16_t> recv = Iota(kP * kSeg), out(recv.size()), again(recv.size());
  Walk(UlyssesUnpackTokensArgs(Shape(), recv.data(), {out.data(), rows * kHp * kD, kHp * kD, kD}));
  EXPECT_TRUE(IsUnpackedByTokens(out, recv));
  Walk(UlyssesPackTokensArgs(Shape(), {out.data(), rows * kHp * kD, kHp * kD, kD}, again.data()));
  EXPECT_EQ(again, recv);
}

// Two tensors share one buffer: every segment holds [first | second], and
// nothing outside a part's place is written.
TEST(LayoutCopyTest, SegmentBytesInterleaveTwoPartsInOneBuffer) {
  UlyssesShape u = Shape();
  const int64_t seg = 2 * kSeg + 3;  // a gap after the parts
  u.segment_bytes = seg * u.elem_bytes;
  const std::vector<uint16_t> a = Iota(kB * kS * kH * kD);
  std::vector<uint16_t> b(a.size());
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint16_t>(a[i] + 30000);
  std::vector<uint16_t> send(kP * seg, 0), packed_a(kP * kSeg), packed_b(kP * kSeg);
  const BshdView<const void> va{a.data(), kS * kH * kD, kH * kD, kD},
      vb{b.data(), kS * kH * kD, kH * kD, kD};
  Walk(UlyssesPackHeadsArgs(u, va, send.data()));
  Walk(UlyssesPackHeadsArgs(u, vb, send.data() + kSeg));
  Walk(UlyssesPackHeadsArgs(Shape(), va, packed_a.data()));
  Walk(UlyssesPackHeadsArgs(Shape(), vb, packed_b.data()));
  for (int64_t j = 0; j < kP; ++j) {
    for (int64_t x = 0; x < kSeg; ++x) {
      ASSERT_EQ(send[j * seg + x], packed_a[j * kSeg + x]) << "segment " << j;
      ASSERT_EQ(send[j * seg + kSeg + x], packed_b[j * kSeg + x]) << "segment " << j;
    }
    for (int64_t x = 2 * kSeg; x < seg; ++x) ASSERT_EQ(send[j * seg + x], 0) << "gap written";
  }
  std::vector<uint16_t> back(b.size());
  Walk(UlyssesUnpackHeadsArgs(u, send.data() + kSeg, {back.data(), kS * kH * kD, kH * kD, kD}));
  EXPECT_EQ(back, b);
}

TEST(LayoutCopyTest, RowStridesOfAViewAreHonoured) {
  // Input rows padded to twice their width: only the first h·d elements move.
  std::vector<uint16_t> in = Iota(kB * kS * 2 * kH * kD), send(kP * kSeg), back(in.size(), 0);
  const BshdView<const void> view{in.data(), kS * 2 * kH * kD, 2 * kH * kD, kD};
  Walk(UlyssesPackHeadsArgs(Shape(), view, send.data()));
  Walk(UlyssesUnpackHeadsArgs(Shape(), send.data(),
                              {back.data(), kS * 2 * kH * kD, 2 * kH * kD, kD}));
  for (size_t i = 0; i < in.size(); ++i) {
    const bool moved = static_cast<int64_t>(i) % (2 * kH * kD) < kH * kD;
    ASSERT_EQ(back[i], moved ? in[i] : 0) << "element " << i;
  }
}

TEST(LayoutCopyTest, RefusesWhatTheCopiesCannotDo) {
  static uint16_t buf[16];
  UlyssesShape u = Shape();
  auto args = UlyssesPackHeadsArgs(u, {buf, 1, 1, kD + 2}, buf);
  ASSERT_FALSE(args.ok());
  EXPECT_NE(args.status().message().find("heads contiguous"), std::string::npos) << args.status();
  u.P = 3;
  args = UlyssesPackHeadsArgs(u, {buf, 1, 1, kD}, buf);
  ASSERT_FALSE(args.ok());
  EXPECT_NE(args.status().message().find("P dividing h"), std::string::npos) << args.status();
  u = Shape();
  u.segment_bytes = kSeg * u.elem_bytes - 1;
  args = UlyssesUnpackTokensArgs(u, buf, {buf, 1, 1, kD});
  ASSERT_FALSE(args.ok());
  EXPECT_NE(args.status().message().find("cannot hold"), std::string::npos) << args.status();
  args = UlyssesPackTokensArgs(Shape(), {buf, 1, 1, kD}, nullptr);
  EXPECT_FALSE(args.ok());
  const auto gather =
      GatherRowsArgsOf({kB, 3, kH, kD, 2}, {buf, 1, 1, kD}, nullptr, {buf, 1, 1, kD});
  ASSERT_FALSE(gather.ok());
  EXPECT_NE(gather.status().message().find("index is null"), std::string::npos) << gather.status();
}

}  // namespace
}  // namespace spindle::kernels
