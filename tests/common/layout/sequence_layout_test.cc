#include "common/layout/sequence_layout.h"

#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include "common/layout/ring_work.h"

namespace spindle::layout {
namespace {

using V = std::vector<int64_t>;

SequenceLayout Make(LayoutKind kind, int64_t s, int u, int r) {
  auto layout = SequenceLayout::Create(kind, s, u, r);
  EXPECT_TRUE(layout.ok()) << layout.status();
  return *layout;
}

V Range(int64_t begin, int64_t end) {
  V v(end - begin);
  std::iota(v.begin(), v.end(), begin);
  return v;
}

V Concat(V a, const V& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(SequenceLayoutTest, ZigzagTakesChunkRAndItsMirror) {
  SequenceLayout l = Make(LayoutKind::kZigzag, 64, 1, 4);
  EXPECT_EQ(l.Positions(0), Concat(Range(0, 8), Range(56, 64)));
  EXPECT_EQ(l.Positions(1), Concat(Range(8, 16), Range(48, 56)));
  EXPECT_EQ(l.Positions(3), Concat(Range(24, 32), Range(32, 40)));
}

TEST(SequenceLayoutTest, StripedAndContiguous) {
  SequenceLayout striped = Make(LayoutKind::kStriped, 12, 1, 3);
  EXPECT_EQ(striped.Positions(1), (V{1, 4, 7, 10}));
  SequenceLayout contiguous = Make(LayoutKind::kContiguous, 12, 1, 3);
  EXPECT_EQ(contiguous.Positions(2), (V{8, 9, 10, 11}));
}

TEST(SequenceLayoutTest, UspCutsEachRingSequenceIntoUlyssesPieces) {
  // U = 2, R = 2: ring rank 0 holds chunks 0 and 3 of 4; its Ulysses ranks split that.
  SequenceLayout l = Make(LayoutKind::kZigzag, 16, 2, 2);
  EXPECT_EQ(l.RingPositions(0), Concat(Range(0, 4), Range(12, 16)));
  EXPECT_EQ(l.Positions(0), Range(0, 4));    // ring 0, ulysses 0
  EXPECT_EQ(l.Positions(1), Range(12, 16));  // ring 0, ulysses 1
  EXPECT_EQ(l.Positions(2), Range(4, 8));    // ring 1, ulysses 0
  EXPECT_EQ(l.Positions(3), Range(8, 12));
}

TEST(SequenceLayoutTest, PadsToTheLayoutGranularity) {
  EXPECT_EQ(Make(LayoutKind::kZigzag, 10, 1, 4).padded_len(), 16);      // 2R = 8
  EXPECT_EQ(Make(LayoutKind::kZigzag, 13, 3, 2).padded_len(), 24);      // R·lcm(2,U) = 12
  EXPECT_EQ(Make(LayoutKind::kContiguous, 10, 1, 4).padded_len(), 12);  // P = 4
  EXPECT_EQ(Make(LayoutKind::kStriped, 3824, 1, 7).padded_len(), 3829);
  SequenceLayout l = Make(LayoutKind::kZigzag, 10, 1, 4);
  EXPECT_EQ(l.Positions(0), (V{0, 1, 14, 15}));  // 14, 15 are padding
  EXPECT_EQ(l.padding(), 6);
}

TEST(SequenceLayoutTest, EveryPositionHeldExactlyOnce) {
  for (LayoutKind kind : {LayoutKind::kContiguous, LayoutKind::kZigzag, LayoutKind::kStriped}) {
    for (auto [s, u, r] :
         {std::tuple{64, 1, 4}, {61, 2, 2}, {3824, 1, 7}, {100, 4, 1}, {37, 3, 3}}) {
      SequenceLayout l = Make(kind, s, u, r);
      std::set<int64_t> seen;
      for (int p = 0; p < l.sp(); ++p) {
        V pos = l.Positions(p);
        ASSERT_EQ(static_cast<int64_t>(pos.size()), l.local_len());
        seen.insert(pos.begin(), pos.end());
      }
      EXPECT_EQ(static_cast<int64_t>(seen.size()), l.padded_len()) << LayoutName(kind);
      EXPECT_EQ(*seen.rbegin(), l.padded_len() - 1);
    }
  }
}

TEST(SequenceLayoutTest, ShardUnshardRoundTripsIdsLabelsAndPositions) {
  SequenceLayout l = Make(LayoutKind::kZigzag, 11, 1, 3);       // pads to 12
  V tokens = {50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61};  // S + 1 tokens
  V ids(tokens.begin(), tokens.end() - 1);
  V labels = NextTokenLabels(tokens);
  ASSERT_EQ(labels, (V{51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61}));
  std::vector<V> id_shards, label_shards;
  for (int p = 0; p < l.sp(); ++p) {
    id_shards.push_back(l.Shard<int64_t>(ids, p, /*pad=*/0));
    label_shards.push_back(l.Shard<int64_t>(labels, p, /*pad=*/-100));
    // One map for everything: each local label is the token after that local id.
    const V pos = l.Positions(p);
    for (size_t i = 0; i < pos.size(); ++i) {
      if (pos[i] < l.seq_len())
        EXPECT_EQ(label_shards[p][i], id_shards[p][i] + 1);
      else
        EXPECT_EQ(label_shards[p][i], -100);
    }
  }
  // c = 2: rank 0 = chunks 0, 5 = positions 0, 1, 10, 11(pad).
  EXPECT_EQ(id_shards[0], (V{50, 51, 60, 0}));
  EXPECT_EQ(l.Unshard(id_shards), ids);
  EXPECT_EQ(l.Unshard(label_shards), labels);
}

TEST(SequenceLayoutTest, ParseLayoutNamesTheChoices) {
  EXPECT_EQ(*ParseLayout("striped"), LayoutKind::kStriped);
  auto bad = ParseLayout("zig-zag");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("contiguous, zigzag, striped"), std::string::npos);
}

TEST(RingWorkTest, ZigzagIsBalancedAtEveryStepContiguousIsNot) {
  // P = 4, S = 64 (sp-algorithms §3): zigzag gives each rank [136, 128, 128, 128].
  SequenceLayout zigzag = Make(LayoutKind::kZigzag, 64, 1, 4);
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(VisiblePairsPerStep(zigzag, r, true), (V{136, 128, 128, 128})) << "rank " << r;
  }
  SequenceLayout contiguous = Make(LayoutKind::kContiguous, 64, 1, 4);
  EXPECT_EQ(VisiblePairsPerStep(contiguous, 0, true), (V{136, 0, 0, 0}));
  EXPECT_EQ(VisiblePairsPerStep(contiguous, 3, true), (V{136, 256, 256, 256}));
  // Striped: diagonal-inclusive from lower ranks, strictly causal from higher.
  SequenceLayout striped = Make(LayoutKind::kStriped, 64, 1, 4);
  EXPECT_EQ(VisiblePairsPerStep(striped, 0, true), (V{136, 120, 120, 120}));
  EXPECT_EQ(VisiblePairsPerStep(striped, 3, true), (V{136, 136, 136, 136}));
  EXPECT_DOUBLE_EQ(RingImbalance(zigzag, true), 1.0);
  EXPECT_DOUBLE_EQ(RingImbalance(contiguous, true), 4.0 * (136 + 3 * 256) / (4 * 136 + 6 * 256));
  EXPECT_EQ(VisiblePairsPerStep(zigzag, 2, false), (V{256, 256, 256, 256}));
}

TEST(RingWorkTest, LightSeqDoesOneBlockPerStepAndCoversEveryPairOnce) {
  // Contiguous P = 4, S = 64 (c = 16): diagonal 136, full blocks 256; at the
  // last step the early ranks rest (their blocks are the owners').
  SequenceLayout l = Make(LayoutKind::kContiguous, 64, 1, 4);
  EXPECT_EQ(LightSeqPairsPerStep(l, 0), (V{136, 256, 0}));  // helps rank 3 at t = 1
  EXPECT_EQ(LightSeqPairsPerStep(l, 1), (V{136, 256, 0}));
  EXPECT_EQ(LightSeqPairsPerStep(l, 3), (V{136, 256, 256}));
  int64_t total = 0;
  for (int r = 0; r < 4; ++r) {
    for (int64_t w : LightSeqPairsPerStep(l, r)) total += w;
  }
  EXPECT_EQ(total, 64 * 65 / 2);
  EXPECT_DOUBLE_EQ(LightSeqImbalance(l), 4.0 * (136 + 512) / (64 * 65 / 2));
}

TEST(RingWorkTest, PaddingIsNotWork) {
  SequenceLayout l = Make(LayoutKind::kZigzag, 10, 1, 4);  // 6 padding positions
  int64_t total = 0;
  for (int r = 0; r < 4; ++r) {
    for (int64_t w : VisiblePairsPerStep(l, r, true)) total += w;
  }
  EXPECT_EQ(total, 10 * 11 / 2);
}

}  // namespace
}  // namespace spindle::layout
