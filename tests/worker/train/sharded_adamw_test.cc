// The sharded optimizer equals replicated AdamW element for element, holds
// 1/W of the state, gathers in bounded rounds, and converts to and from whole
// moments for checkpoints.
#include "worker/train/sharded_adamw.h"

#include <torch/torch.h>

#include <mutex>

#include "common/comm/local_communicator.h"
#include "gtest/gtest.h"
#include "tests/testing/spawn_ranks.h"

namespace spindle::train {
namespace {

using Named = std::vector<std::pair<std::string, at::Tensor>>;

TEST(RunsInRange, CutsParametersAtTheRangeEdges) {
  const std::vector<int64_t> numels = {6, 0, 4, 5};  // flat [0,6) [6,6) [6,10) [10,15)
  const std::vector<FlatRun> runs = RunsInRange(numels, 4, 12);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].param, 0);
  EXPECT_EQ(runs[0].offset, 4);
  EXPECT_EQ(runs[0].length, 2);
  EXPECT_EQ(runs[1].param, 2);
  EXPECT_EQ(runs[1].offset, 0);
  EXPECT_EQ(runs[1].length, 4);
  EXPECT_EQ(runs[2].param, 3);
  EXPECT_EQ(runs[2].offset, 0);
  EXPECT_EQ(runs[2].length, 2);
  EXPECT_TRUE(RunsInRange(numels, 15, 15).empty());
  EXPECT_EQ(ShardChunk(15, 4), 4);
  EXPECT_EQ(ShardChunk(16, 4), 4);
  EXPECT_EQ(ShardChunk(3, 4), 1);  // the last rank owns nothing
}

// Parameters of assorted shapes (a matrix with decay, a vector without, one
// that straddles chunk edges), float64, and their gradients for three steps;
// drawn once (torch's generator is shared by the rank threads), copied per rank.
struct Fixture {
  Named params;
  std::vector<std::vector<at::Tensor>> grads;  // [step][param]
  Fixture() {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
    for (auto [name, numel] : {std::pair<const char*, std::vector<int64_t>>{"a.weight", {5, 7}},
                               {"norm.weight", {9}},
                               {"b.weight", {3, 11}}}) {
      params.emplace_back(name, at::randn(numel, gen, at::kDouble));
    }
    for (int step = 0; step < 3; ++step) {
      grads.emplace_back();
      for (auto& [name, t] : params) grads.back().push_back(at::randn(t.sizes(), gen, at::kDouble));
    }
  }
};

const Fixture& TheFixture() {
  static const Fixture* f = new Fixture();
  return *f;
}

Named MakeParams() {
  Named p;
  for (auto& [name, t] : TheFixture().params) p.emplace_back(name, t.clone().requires_grad_(true));
  return p;
}

void SetGrads(Named& params, int step) {
  for (size_t i = 0; i < params.size(); ++i) {
    params[i].second.mutable_grad() = TheFixture().grads[step][i].clone();
  }
}

struct RunOutput {
  Named params;
  model::NamedTensors moments;
  int64_t state_elements = 0;
};

// Three steps on `world` ranks (rank 0's view); world 1 is replicated AdamW.
RunOutput ThreeSteps(int world, int64_t bucket_bytes) {
  auto fabric = comm::LocalFabric::Create(world);
  RunOutput out;
  std::mutex mu;
  spindle::testing::SpawnRanks(world, [&](int rank) {
    std::vector<int> ranks(world);
    for (int i = 0; i < world; ++i) ranks[i] = i;
    auto comm = fabric->Connect(ranks, rank, {});
    ASSERT_TRUE(comm.ok()) << comm.status();
    Named params = MakeParams();
    auto opt = ShardedAdamW::Create(params, {}, std::shared_ptr<comm::Communicator>(std::move(*comm)),
                                    bucket_bytes);
    ASSERT_TRUE(opt.ok()) << opt.status();
    for (int step = 0; step < 3; ++step) {
      SetGrads(params, step);
      ASSERT_TRUE((*opt)->Step(1e-2).ok());
    }
    auto moments = (*opt)->GatherMoments();
    ASSERT_TRUE(moments.ok()) << moments.status();
    if (rank != 0) return;
    std::lock_guard<std::mutex> lock(mu);
    out.params = params;
    out.moments = *moments;
    out.state_elements = (*opt)->local_state_elements();
  });
  return out;
}

void ExpectEqual(const Named& a, const Named& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(at::equal(a[i].second.detach(), b[i].second.detach())) << a[i].first;
  }
}

TEST(ShardedAdamW, EqualsReplicatedAdamWElementForElement) {
  const RunOutput replicated = ThreeSteps(1, 4 << 20);
  ExpectEqual(replicated.params, replicated.params);  // not NaN
  EXPECT_FALSE(at::equal(replicated.params[0].second, TheFixture().params[0].second));
  EXPECT_EQ(replicated.state_elements, 35 + 9 + 33);
  for (int world : {2, 3, 4}) {
    // 24 bytes = 3 doubles per round: chunks of 20-39 elements take many rounds.
    for (int64_t bucket : {int64_t{24}, int64_t{4 << 20}}) {
      SCOPED_TRACE(::testing::Message() << "world " << world << " bucket " << bucket);
      const RunOutput sharded = ThreeSteps(world, bucket);
      ExpectEqual(replicated.params, sharded.params);
      ExpectEqual(replicated.moments, sharded.moments);
      EXPECT_EQ(sharded.state_elements, ShardChunk(77, world));
    }
  }
}

TEST(ShardedAdamW, LoadMomentsKeepsThisRanksShare) {
  const RunOutput replicated = ThreeSteps(1, 4 << 20);
  std::map<std::string, at::Tensor> whole(replicated.moments.begin(), replicated.moments.end());
  auto fabric = comm::LocalFabric::Create(2);
  spindle::testing::SpawnRanks(2, [&](int rank) {
    auto comm = fabric->Connect({0, 1}, rank, {});
    ASSERT_TRUE(comm.ok()) << comm.status();
    auto opt = ShardedAdamW::Create(MakeParams(), {},
                                    std::shared_ptr<comm::Communicator>(std::move(*comm)), 64);
    ASSERT_TRUE(opt.ok()) << opt.status();
    ASSERT_TRUE((*opt)->LoadMoments("optimizer.safetensors", whole).ok());
    auto again = (*opt)->GatherMoments();
    ASSERT_TRUE(again.ok()) << again.status();
    ExpectEqual(replicated.moments, *again);
  });
}

TEST(ShardedAdamW, LoadMomentsNamesAMissingTensor) {
  auto opt = ShardedAdamW::Create(MakeParams(), {}, nullptr, 64);
  ASSERT_TRUE(opt.ok());
  std::map<std::string, at::Tensor> whole;
  for (auto& [name, t] : MakeParams()) {
    whole["exp_avg." + name] = at::zeros_like(t);
    if (name != "norm.weight") whole["exp_avg_sq." + name] = at::zeros_like(t);
  }
  const absl::Status s = (*opt)->LoadMoments("ckpt/optimizer.safetensors", whole);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ckpt/optimizer.safetensors"), std::string::npos) << s;
  EXPECT_NE(s.message().find("exp_avg_sq.norm.weight"), std::string::npos) << s;
}

TEST(ShardedAdamW, RefusesMixedDtypes) {
  Named params = MakeParams();
  params[1].second = params[1].second.detach().to(at::kFloat).requires_grad_(true);
  auto opt = ShardedAdamW::Create(params, {}, nullptr, 64);
  ASSERT_FALSE(opt.ok());
  EXPECT_NE(opt.status().message().find("norm.weight"), std::string::npos) << opt.status();
}

}  // namespace
}  // namespace spindle::train
