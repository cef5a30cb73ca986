// The in-process backend over device memory (virtual ranks on one GPU):
// the same collectives and counters as on host memory, with the bytes moved
// between device buffers. Host buffers keep working without a device (the
// self-check reduces its host figures through the same fabric), so that case
// runs everywhere; the device cases skip without a GPU.
#include "common/comm/cuda_memory.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "common/comm/local_communicator.h"
#include "tests/testing/spawn_ranks.h"

namespace spindle::comm {
namespace {

bool HaveGpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

std::unique_ptr<Communicator> Join(LocalFabric& fabric, int world, int rank) {
  std::vector<int> ranks(world);
  std::iota(ranks.begin(), ranks.end(), 0);
  CommOptions options;
  options.group = "virtual";
  options.timeout = std::chrono::seconds(30);
  auto comm = fabric.Connect(ranks, rank, options);
  EXPECT_TRUE(comm.ok()) << comm.status();
  return comm.ok() ? *std::move(comm) : nullptr;
}

// A device copy of `host`, freed with the object.
class Device {
 public:
  explicit Device(const std::vector<double>& host) : n_(host.size()) {
    EXPECT_EQ(cudaMalloc(&p_, n_ * sizeof(double)), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(p_, host.data(), n_ * sizeof(double), cudaMemcpyHostToDevice),
              cudaSuccess);
  }
  ~Device() { cudaFree(p_); }
  double* get() const { return p_; }
  std::vector<double> Read() const {
    std::vector<double> host(n_);
    EXPECT_EQ(cudaMemcpy(host.data(), p_, n_ * sizeof(double), cudaMemcpyDeviceToHost),
              cudaSuccess);
    return host;
  }

 private:
  double* p_ = nullptr;
  size_t n_;
};

TEST(CudaMemoryTest, HostBuffersReduceWithoutADevice) {
  constexpr int kWorld = 3;
  auto fabric = LocalFabric::Create(kWorld, CudaMemory());
  testing::SpawnRanks(kWorld, [&](int rank) {
    auto comm = Join(*fabric, kWorld, rank);
    ASSERT_NE(comm, nullptr);
    std::vector<double> x = {double(rank), 10.0 * rank, -1};
    ASSERT_TRUE(comm->AllReduce(x.data(), 3, DType::kFloat64, ReduceOp::kSum).ok());
    EXPECT_EQ(x, (std::vector<double>{3, 30, -3}));
  });
}

TEST(CudaMemoryTest, RingAllToAllAndAllReduceMoveDeviceBytes) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  constexpr int kWorld = 4;
  constexpr int kSeg = 5;  // doubles per all-to-all segment
  auto fabric = LocalFabric::Create(kWorld, CudaMemory());
  testing::SpawnRanks(kWorld, [&](int rank) {
    auto comm = Join(*fabric, kWorld, rank);
    ASSERT_NE(comm, nullptr);
    // Ring: send my id block to next, receive prev's.
    Device mine(std::vector<double>(kSeg, rank)), theirs(std::vector<double>(kSeg, -1));
    const int next = (rank + 1) % kWorld, prev = (rank + kWorld - 1) % kWorld;
    auto batch = comm->StartSendRecv({P2POp::Send(next, mine.get(), kSeg * 8),
                                      P2POp::Recv(prev, theirs.get(), kSeg * 8)});
    ASSERT_TRUE(batch.ok()) << batch.status();
    ASSERT_TRUE((*batch)->Wait().ok());
    EXPECT_EQ(theirs.Read(), std::vector<double>(kSeg, prev));

    // All-to-all: segment j of rank r holds 100 r + j; afterwards segment i
    // holds 100 i + r.
    std::vector<double> send(kWorld * kSeg);
    for (int j = 0; j < kWorld; ++j) {
      for (int e = 0; e < kSeg; ++e) send[j * kSeg + e] = 100 * rank + j;
    }
    Device d_send(send), d_recv(std::vector<double>(kWorld * kSeg, -1));
    const std::vector<int64_t> bytes(kWorld, kSeg * 8);
    ASSERT_TRUE(comm->AllToAll(d_send.get(), bytes, d_recv.get(), bytes).ok());
    const std::vector<double> got = d_recv.Read();
    for (int i = 0; i < kWorld; ++i) EXPECT_EQ(got[i * kSeg], 100 * i + rank) << "segment " << i;

    // All-reduce on device data: staged through the host, same result.
    Device x(std::vector<double>{1.0 * rank, 2, 3, 4, 5, 6, 7});
    ASSERT_TRUE(comm->AllReduce(x.get(), 7, DType::kFloat64, ReduceOp::kSum).ok());
    EXPECT_EQ(x.Read(), (std::vector<double>{6, 8, 12, 16, 20, 24, 28}));

    // Traffic as on host memory: all-to-all sends P-1 segments.
    EXPECT_EQ(comm->counters()[Op::kAllToAll].bytes_sent, (kWorld - 1) * kSeg * 8);
    EXPECT_EQ(comm->counters()[Op::kSendRecv].bytes_received, kSeg * 8);
  });
}

}  // namespace
}  // namespace spindle::comm
