// The gradient reducer over two in-process ranks, in both schedules: each
// parameter's gradient is the sum over ranks and micro-steps of what one
// rank alone computes, buckets are fp32 views, a parameter without a
// gradient keeps zeros, and the inline schedule (NCCL's: all-reduces started
// by the thread running backward) gives bitwise the same result as the
// background thread.
#include "worker/train/grad_reducer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "common/comm/local_communicator.h"
#include "tests/testing/spawn_ranks.h"

namespace spindle::train {
namespace {

constexpr int kRanks = 2;
constexpr int kMicro = 2;

// Fresh leaves with the same values on every call; a generator of its own,
// since ranks call this concurrently.
std::vector<at::Tensor> Params() {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
  std::vector<at::Tensor> p;
  for (const auto& size : std::vector<std::vector<int64_t>>{{4, 3}, {5}, {3, 3}, {2}}) {
    p.push_back(at::randn(size, gen).requires_grad_());
  }
  return p;
}

// A different loss per rank and micro-step; the last parameter is unused.
at::Tensor Loss(const std::vector<at::Tensor>& p, int rank, int micro) {
  const double c = 1.0 + rank + 0.5 * micro;
  return (p[0] * c).pow(2).sum() + (p[1] * p[1].sum() * c).sum() + p[2].mm(p[2]).sum() * c;
}

std::vector<at::Tensor> Expected() {
  std::vector<at::Tensor> p = Params();
  for (int r = 0; r < kRanks; ++r) {
    for (int m = 0; m < kMicro; ++m) Loss(p, r, m).backward();
  }
  std::vector<at::Tensor> g;
  for (const at::Tensor& t : p) g.push_back(t.grad().defined() ? t.grad() : at::zeros_like(t));
  return g;
}

// Gradients each rank holds after one step.
std::vector<std::vector<at::Tensor>> Reduce(GradSchedule schedule) {
  auto fabric = comm::LocalFabric::Create(kRanks);
  std::vector<std::vector<at::Tensor>> out(kRanks);
  testing::SpawnRanks(kRanks, [&](int rank) {
    comm::CommOptions options;
    options.group = "grad";
    auto comm = fabric->Connect({0, 1}, rank, options);
    ASSERT_TRUE(comm.ok()) << comm.status();
    std::vector<at::Tensor> p = Params();
    // 16 bytes: three buckets, so their order matters.
    auto reducer = GradReducer::Create(p, std::move(*comm), 16, schedule);
    ASSERT_TRUE(reducer.ok()) << reducer.status();
    ASSERT_GT((*reducer)->num_buckets(), 2);
    (*reducer)->ZeroGrad();
    for (int m = 0; m < kMicro; ++m) {
      if (m + 1 == kMicro) (*reducer)->Arm();
      Loss(p, rank, m).backward();
    }
    ASSERT_TRUE((*reducer)->Finish().ok());
    for (size_t i = 0; i < p.size(); ++i) {
      out[rank].push_back((*reducer)->grad(static_cast<int>(i)).clone());
    }
  });
  return out;
}

TEST(GradReducerTest, BothSchedulesSumOverRanksAndMicroSteps) {
  const std::vector<at::Tensor> expected = Expected();
  const auto thread = Reduce(GradSchedule::kThread);
  const auto inline_ = Reduce(GradSchedule::kInline);
  for (int r = 0; r < kRanks; ++r) {
    ASSERT_EQ(thread[r].size(), expected.size());
    ASSERT_EQ(inline_[r].size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      SCOPED_TRACE(::testing::Message() << "rank " << r << " parameter " << i);
      EXPECT_TRUE(torch::allclose(thread[r][i], expected[i], 1e-5, 1e-5));
      EXPECT_TRUE(torch::allclose(inline_[r][i], expected[i], 1e-5, 1e-5));
      EXPECT_TRUE(torch::equal(inline_[r][i], thread[r][i]));
    }
    EXPECT_EQ(thread[r][3].abs().sum().item<float>(), 0.0f);
  }
}

TEST(GradReducerTest, ScheduleFollowsTheCommunicator) {
  auto fabric = comm::LocalFabric::Create(1);
  auto comm = fabric->Connect({0}, 0, {});
  ASSERT_TRUE(comm.ok());
  // The in-process backend blocks in StartAllReduce: a background thread.
  EXPECT_FALSE((*comm)->StartsWithoutBlocking());
  EXPECT_EQ(GradScheduleFor(**comm), GradSchedule::kThread);
}

}  // namespace
}  // namespace spindle::train
