// Sequence-parallel attention off the happy path: refused configurations,
// determinism, and failures that must end every rank within the timeout
// instead of hanging (a killed peer, a rank with a different shape).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <string>

#include "common/comm/local_communicator.h"
#include "common/status.h"
#include "tests/testing/spawn_ranks.h"
#include "worker/sp/sp_attention.h"

namespace spindle::sp {
namespace {

using Clock = std::chrono::steady_clock;
using layout::LayoutKind;
using layout::SequenceLayout;

constexpr auto kTimeout = std::chrono::seconds(2);

std::shared_ptr<comm::Communicator> Connect(comm::LocalFabric& fabric, int world, int rank) {
  std::vector<int> ranks(world);
  for (int i = 0; i < world; ++i) ranks[i] = i;
  comm::CommOptions options;
  options.group = "ring";
  options.timeout = kTimeout;
  auto c = fabric.Connect(ranks, rank, options);
  SPINDLE_CHECK(c.ok()) << c.status();
  return std::move(*c);
}

std::shared_ptr<SpAttention> RingAttentionFor(const SequenceLayout& lay, int rank,
                                              std::shared_ptr<comm::Communicator> ring, int h = 4,
                                              int h_kv = 2) {
  SpAttentionOptions o;
  o.h = h;
  o.h_kv = h_kv;
  o.sp_rank = rank;
  o.ring = std::move(ring);
  auto sp = SpAttention::Create(lay, o);
  SPINDLE_CHECK(sp.ok()) << sp.status();
  return *sp;
}

struct Inputs {
  at::Tensor q, k, v;
};

Inputs RandomInputs(int64_t len, int h, int h_kv, int d, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto randn = [&](int64_t heads) {
    return at::randn({1, len, heads, d}, gen).requires_grad_(true);
  };
  Inputs in;
  in.q = randn(h);
  in.k = randn(h_kv);
  in.v = randn(h_kv);
  return in;
}

TEST(SpAttentionTest, RefusesAUlyssesDegreeThatDoesNotSplitTheHeadsNamingValidOnes) {
  const SequenceLayout lay = *SequenceLayout::Create(LayoutKind::kContiguous, 64, 3, 1);
  SpAttentionOptions o;
  o.h = 12;
  o.h_kv = 2;
  auto sp = SpAttention::Create(lay, o);
  ASSERT_FALSE(sp.ok());
  const std::string msg(sp.status().message());
  EXPECT_NE(msg.find("parallel.ulysses: degree 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("valid degrees: 1, 2, 4, 6, 12"), std::string::npos) << msg;
}

TEST(SpAttentionTest, RefusesGroupsThatDoNotMatchTheLayout) {
  const SequenceLayout lay = *SequenceLayout::Create(LayoutKind::kZigzag, 64, 1, 4);
  SpAttentionOptions o;
  o.h = 4;
  o.h_kv = 4;  // no ring communicator: a group of one, but the layout wants 4
  auto sp = SpAttention::Create(lay, o);
  ASSERT_FALSE(sp.ok());
  EXPECT_NE(sp.status().message().find("ring=4"), std::string::npos) << sp.status();
}

TEST(SpAttentionTest, RefusesLightSeqWhereItDoesNotApply) {
  SpAttentionOptions o;
  o.h = 4;
  o.h_kv = 4;
  o.schedule = layout::RingSchedule::kLightSeq;
  auto refused = [&](LayoutKind kind, int ring, bool causal) {
    o.causal = causal;
    auto sp = SpAttention::Create(*SequenceLayout::Create(kind, 64, 1, ring), o);
    return sp.ok() ? std::string() : std::string(sp.status().message());
  };
  EXPECT_NE(refused(LayoutKind::kContiguous, 4, false).find("causal attention only"),
            std::string::npos);
  EXPECT_NE(refused(LayoutKind::kContiguous, 3, true).find("even ring degree, got 3"),
            std::string::npos);
  EXPECT_NE(refused(LayoutKind::kZigzag, 4, true).find("contiguous layout"), std::string::npos);
}

TEST(SpAttentionTest, RepeatedRunsAreBitwiseIdentical) {
  const SequenceLayout lay = *SequenceLayout::Create(LayoutKind::kZigzag, 91, 1, 3);
  std::vector<std::vector<at::Tensor>> runs(2, std::vector<at::Tensor>(3 * 4));
  for (int run = 0; run < 2; ++run) {
    auto fabric = comm::LocalFabric::Create(3);
    testing::SpawnRanks(3, [&](int rank) {
      auto sp = RingAttentionFor(lay, rank, Connect(*fabric, 3, rank));
      Inputs in = RandomInputs(lay.local_len(), 4, 2, 16, 100 + rank);
      at::Tensor o = sp->Forward(in.q, in.k, in.v);
      o.backward(at::ones_like(o));
      runs[run][rank * 4 + 0] = o.detach();
      runs[run][rank * 4 + 1] = in.q.grad();
      runs[run][rank * 4 + 2] = in.k.grad();
      runs[run][rank * 4 + 3] = in.v.grad();
    });
  }
  for (size_t i = 0; i < runs[0].size(); ++i) {
    EXPECT_TRUE(at::equal(runs[0][i], runs[1][i])) << "tensor " << i << " differs between runs";
  }
}

TEST(SpAttentionTest, AKilledPeerMakesEverySurvivorFailNamingItWithinTheTimeout) {
  constexpr int kWorld = 4, kDead = 2;
  const SequenceLayout lay = *SequenceLayout::Create(LayoutKind::kZigzag, 256, 1, kWorld);
  auto fabric = comm::LocalFabric::Create(kWorld);
  testing::SpawnRanks(kWorld, [&](int rank) {
    auto ring = Connect(*fabric, kWorld, rank);
    if (rank == kDead) {
      fabric->Kill(rank);  // dies before its first ring step
      return;
    }
    auto sp = RingAttentionFor(lay, rank, ring);
    Inputs in = RandomInputs(lay.local_len(), 4, 2, 16, rank);
    const auto start = Clock::now();
    try {
      sp->Forward(in.q, in.k, in.v);
      ADD_FAILURE() << "rank " << rank << " finished a ring step with a dead peer";
    } catch (const c10::Error& e) {
      const std::string msg = e.what_without_backtrace();
      EXPECT_NE(msg.find("rank"), std::string::npos) << msg;
    }
    // Bounded, not a performance figure: the failure must not wait for ever.
    EXPECT_LT(Clock::now() - start, 3 * kTimeout) << "rank " << rank << " waited too long";
  });
}

TEST(SpAttentionTest, ARankWithADifferentShapeFailsEveryRankInsteadOfHanging) {
  constexpr int kWorld = 2;
  auto fabric = comm::LocalFabric::Create(kWorld);
  testing::SpawnRanks(kWorld, [&](int rank) {
    // Rank 1 was configured with a longer sequence: its ring blocks are larger.
    const SequenceLayout lay =
        *SequenceLayout::Create(LayoutKind::kZigzag, rank == 0 ? 64 : 96, 1, kWorld);
    auto sp = RingAttentionFor(lay, rank, Connect(*fabric, kWorld, rank));
    Inputs in = RandomInputs(lay.local_len(), 4, 2, 16, rank);
    const auto start = Clock::now();
    EXPECT_THROW(sp->Forward(in.q, in.k, in.v), c10::Error) << "rank " << rank;
    EXPECT_LT(Clock::now() - start, 3 * kTimeout) << "rank " << rank << " waited too long";
  });
}

}  // namespace
}  // namespace spindle::sp
