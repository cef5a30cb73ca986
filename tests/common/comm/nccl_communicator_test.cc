// The NCCL backend. The rendezvous timeout runs everywhere (no GPU needed:
// the id exchange comes before any device call); the collectives, on device
// and on host buffers, need a GPU and run as a one-rank group, since NCCL
// allows one rank per device and the test machines have one GPU. Multi-GPU behaviour is left to
// real jobs.
#include "common/comm/nccl_communicator.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/comm/gloo_communicator.h"
#include "tests/testing/temp_dir.h"

namespace spindle::comm {
namespace {

bool HaveGpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

// A one-rank group on device 0 (NCCL allows one rank per device); null
// after a failure, which the expectation reports.
std::unique_ptr<Communicator> OneRankGroup(const std::string& group) {
  testing::TempDir dir;
  auto store = MakeFileStore(dir.path() + "/store");
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return nullptr;
  CommOptions options;
  options.group = group;
  options.timeout = std::chrono::seconds(30);
  auto comm = CreateNcclCommunicator(**store, 0, 1, options);
  EXPECT_TRUE(comm.ok()) << comm.status();
  return comm.ok() ? std::move(*comm) : nullptr;
}

TEST(NcclCommunicatorTest, ARankWithoutTheIdTimesOutNamingGroupAndRankZero) {
  testing::TempDir dir;
  auto store = MakeFileStore(dir.path() + "/store");
  ASSERT_TRUE(store.ok()) << store.status();
  CommOptions options;
  options.group = "ring.dp0";
  options.timeout = std::chrono::milliseconds(300);
  const auto start = std::chrono::steady_clock::now();
  auto comm = CreateNcclCommunicator(**store, /*rank=*/1, /*size=*/2, options);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(comm.ok());
  EXPECT_EQ(comm.status().code(), absl::StatusCode::kDeadlineExceeded) << comm.status();
  EXPECT_NE(comm.status().message().find("group 'ring.dp0'"), std::string::npos) << comm.status();
  EXPECT_NE(comm.status().message().find("rank 0"), std::string::npos) << comm.status();
  EXPECT_LT(took, std::chrono::seconds(10));  // bounded, not a hang (generous: no timing claim)
}

TEST(NcclCommunicatorTest, OneRankCollectivesMoveTheBytesAndCountThem) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  const std::unique_ptr<Communicator> comm = OneRankGroup("solo");
  ASSERT_NE(comm, nullptr);
  const std::vector<float> host = {1, 2, 3, 4};
  float* a = nullptr;
  float* b = nullptr;
  ASSERT_EQ(cudaMalloc(&a, 16), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&b, 16), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(a, host.data(), 16, cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_TRUE(comm->AllReduce(a, 4, DType::kFloat32, ReduceOp::kSum).ok());
  ASSERT_TRUE(comm->AllGather(a, 16, b).ok());
  const int64_t sizes[1] = {16};
  ASSERT_TRUE(comm->AllToAll(a, sizes, b, sizes).ok());
  ASSERT_TRUE(comm->Broadcast(b, 16, 0).ok());
  ASSERT_TRUE(comm->Barrier().ok());
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<float> out(4);
  ASSERT_EQ(cudaMemcpy(out.data(), b, 16, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(out, host);
  // One rank moves nothing over the wire; the formulas give zero.
  EXPECT_EQ(comm->counters().TotalBytesSent(), 0);
  EXPECT_EQ(comm->counters()[Op::kAllReduce].calls, 1);
  EXPECT_EQ(comm->sequence(), 5);
  cudaFree(a);
  cudaFree(b);
}

// Control values (the step's loss, a checkpoint flag) live on the host; the
// communicator stages them through device memory.
TEST(NcclCommunicatorTest, HostBuffersAreStagedThroughTheDevice) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  const std::unique_ptr<Communicator> comm = OneRankGroup("control");
  ASSERT_NE(comm, nullptr);
  double loss = 2.5;
  ASSERT_TRUE(comm->AllReduce(&loss, 1, DType::kFloat64, ReduceOp::kSum).ok());
  EXPECT_EQ(loss, 2.5);
  int64_t flag = 7;
  ASSERT_TRUE(comm->Broadcast(&flag, sizeof(flag), 0).ok());
  EXPECT_EQ(flag, 7);
  std::vector<int64_t> send(1000), recv(1000, -1);
  for (int i = 0; i < 1000; ++i) send[i] = i * 3;
  ASSERT_TRUE(comm->AllGather(send.data(), 8000, recv.data()).ok());
  EXPECT_EQ(recv, send);
  float* device = nullptr;
  ASSERT_EQ(cudaMalloc(&device, 8000), cudaSuccess);
  const absl::Status mixed = comm->AllGather(send.data(), 8000, device);
  EXPECT_EQ(mixed.code(), absl::StatusCode::kInvalidArgument) << mixed;
  EXPECT_NE(mixed.message().find("group 'control'"), std::string::npos) << mixed;
  cudaFree(device);
  // Bulk data belongs on the device: large host buffers are refused, not
  // staged through a buffer whose growth would wait for the whole device.
  std::vector<int64_t> bulk(1 << 14);
  const absl::Status large = comm->Broadcast(bulk.data(), 8 << 14, 0);
  EXPECT_EQ(large.code(), absl::StatusCode::kInvalidArgument) << large;
  EXPECT_NE(large.message().find("pass device memory"), std::string::npos) << large;
}

}  // namespace
}  // namespace spindle::comm
