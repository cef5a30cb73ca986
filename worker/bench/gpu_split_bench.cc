// The split-overhead section of spindle-gpu-bench (gpu_bench.h).
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "common/comm/cuda_memory.h"
#include "common/comm/local_communicator.h"
#include "common/layout/mesh.h"
#include "common/layout/sequence_layout.h"
#include "common/status.h"
#include "worker/bench/gpu_bench.h"
#include "worker/runtime/backward_thread.h"
#include "worker/sp/process_groups.h"
#include "worker/sp/sp_attention.h"

namespace spindle::bench {
namespace {

using Clock = std::chrono::steady_clock;
using layout::LayoutKind;
using layout::RingSchedule;

// Llama-3-8B's attention shape; 2K tokens per rank, the lower bound.
constexpr int kHeads = 32, kKvHeads = 8, kHeadDim = 128;
constexpr int64_t kTokensPerRank = 2048;
constexpr int kWarmup = 2, kTimed = 5;

struct Split {
  const char* name;
  int ulysses, ring;
  LayoutKind layout;
  RingSchedule schedule;
};

std::vector<Split> SplitsOf(int p) {
  std::vector<Split> s = {
      {"ulysses", p, 1, LayoutKind::kContiguous, RingSchedule::kRing},
      {"ring", 1, p, LayoutKind::kContiguous, RingSchedule::kRing},
      {"ring zigzag", 1, p, LayoutKind::kZigzag, RingSchedule::kRing},
      {"lightseq", 1, p, LayoutKind::kContiguous, RingSchedule::kLightSeq},
  };
  if (p >= 4) s.push_back({"usp 2×R zigzag", 2, p / 2, LayoutKind::kZigzag, RingSchedule::kRing});
  return s;
}

// Median wall seconds of one causal forward+backward over all virtual ranks
// (threads sharing the GPU), each step fenced by a device drain and a barrier.
double StepSeconds(const Split& split, int64_t seq_len) {
  const int world = split.ulysses * split.ring;
  const layout::MeshDims mesh = *layout::MakeMesh(world, 1, split.ulysses, split.ring);
  auto fabric = comm::LocalFabric::Create(world, comm::CudaMemory());
  std::vector<double> step_seconds;
  std::vector<std::thread> threads;
  std::atomic<bool> failed{false};
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      auto groups =
          sp::BuildProcessGroups(mesh, rank, std::chrono::seconds(120),
                                 [&](const std::vector<int>& ranks, const comm::CommOptions& o) {
                                   return fabric->Connect(ranks, rank, o);
                                 });
      SPINDLE_CHECK(groups.ok()) << groups.status();
      auto lay = layout::SequenceLayout::Create(split.layout, seq_len, split.ulysses, split.ring);
      SPINDLE_CHECK(lay.ok()) << lay.status();
      sp::SpAttentionOptions options;
      options.h = kHeads;
      options.h_kv = kKvHeads;
      options.causal = true;
      options.sp_rank = groups->sp_rank();
      options.schedule = split.schedule;
      options.ulysses = groups->ulysses;
      options.ring = groups->ring;
      auto attention = sp::SpAttention::Create(*lay, options);
      SPINDLE_CHECK(attention.ok()) << attention.status();
      const auto opts = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
      const int64_t n = lay->local_len();
      at::Tensor q = at::randn({1, n, kHeads, kHeadDim}, opts).requires_grad_(true);
      at::Tensor k = at::randn({1, n, kKvHeads, kHeadDim}, opts).requires_grad_(true);
      at::Tensor v = at::randn({1, n, kKvHeads, kHeadDim}, opts).requires_grad_(true);
      at::Tensor d_o = at::randn({1, n, kHeads, kHeadDim}, opts);
      // The ranks must not share autograd's device thread.
      const runtime::BackwardOnThisThread here;
      try {
        for (int i = 0; i < kWarmup + kTimed; ++i) {
          torch::cuda::synchronize();
          SPINDLE_CHECK(groups->world->Barrier().ok());
          const auto t0 = Clock::now();
          (*attention)->Forward(q, k, v).backward(d_o);
          torch::cuda::synchronize();
          SPINDLE_CHECK(groups->world->Barrier().ok());
          if (rank == 0 && i >= kWarmup) {
            step_seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
          }
        }
      } catch (const c10::Error& e) {
        std::fprintf(stderr, "split %s rank %d: %s\n", split.name, rank,
                     e.what_without_backtrace());
        failed = true;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  SPINDLE_CHECK(!failed) << "split " << split.name << " failed";
  std::sort(step_seconds.begin(), step_seconds.end());
  return step_seconds[step_seconds.size() / 2];
}

}  // namespace

Table SplitOverhead() {
  Table table({"P", "S", "algorithm", "step ms", "one rank ms", "overhead"});
  for (int p : {2, 4, 8}) {
    const int64_t s = kTokensPerRank * p;
    const double one = StepSeconds({"one rank", 1, 1, LayoutKind::kContiguous,
                                    RingSchedule::kRing}, s);
    for (const Split& split : SplitsOf(p)) {
      const double t = StepSeconds(split, s);
      std::vector<std::string> row = {std::to_string(p), std::to_string(s), split.name,
                                      Fixed(t * 1e3, 2), Fixed(one * 1e3, 2), Fixed(t / one, 3)};
      std::fprintf(stderr, "split: P=%d %s %.3f\n", p, split.name, t / one);
      table.Add(std::move(row));
    }
  }
  return table;
}

}  // namespace spindle::bench
