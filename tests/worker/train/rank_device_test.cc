// Where a rank computes: resources.device against the build and the GPUs the
// process sees, and the local launcher's one GPU per rank.
#include "worker/train/rank_device.h"

#include <gtest/gtest.h>

namespace spindle::train {
namespace {

using config::Device;

DeviceSupport Gpus(int n, std::optional<std::string> env = std::nullopt) {
  return {true, n, std::move(env)};
}

TEST(RankDeviceTest, CpuJobsRunOnTheCpuWhateverTheMachineHas) {
  for (const DeviceSupport& s : {DeviceSupport{}, Gpus(8)}) {
    auto d = SelectRankDevice(Device::kCpu, s);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_TRUE(d->is_cpu());
  }
}

TEST(RankDeviceTest, CudaJobsTakeTheFirstVisibleGpu) {
  auto d = SelectRankDevice(Device::kCuda, Gpus(1, "3"));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->is_cuda());
  EXPECT_EQ(d->index(), 0);
}

TEST(RankDeviceTest, CudaWithoutSupportOrGpusNamesTheFieldAndTheWayOut) {
  const auto unbuilt = SelectRankDevice(Device::kCuda, DeviceSupport{false, 4, std::nullopt});
  EXPECT_EQ(unbuilt.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(unbuilt.status().message().find("resources.device is cuda"), std::string::npos);
  EXPECT_NE(unbuilt.status().message().find("no CUDA ranks"), std::string::npos);
  EXPECT_NE(unbuilt.status().message().find("resources.device: cpu"), std::string::npos);

  const auto hidden = SelectRankDevice(Device::kCuda, Gpus(0, ""));
  EXPECT_EQ(hidden.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(hidden.status().message().find("sees no CUDA device (CUDA_VISIBLE_DEVICES=)"),
            std::string::npos)
      << hidden.status();
  const auto unset = SelectRankDevice(Device::kCuda, Gpus(0));
  EXPECT_NE(unset.status().message().find("sees no CUDA device (CUDA_VISIBLE_DEVICES unset)"),
            std::string::npos)
      << unset.status();
}

TEST(RankDeviceTest, LocalRanksGetOneVisibleGpuEach) {
  auto cpu = LocalRankDevices(Device::kCpu, 3, DeviceSupport{});
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(*cpu, std::vector<std::string>(3));

  auto all = LocalRankDevices(Device::kCuda, 2, Gpus(4));
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, (std::vector<std::string>{"0", "1"}));

  // A launcher limited to some GPUs hands those on, UUIDs included.
  auto listed = LocalRankDevices(Device::kCuda, 2, Gpus(2, "2,GPU-8f1c"));
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(*listed, (std::vector<std::string>{"2", "GPU-8f1c"}));

  auto crowded = LocalRankDevices(Device::kCuda, 3, Gpus(2, "0,1"));
  EXPECT_EQ(crowded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(crowded.status().message().find("--local-ranks 3 exceeds the 2 visible GPU(s) "
                                            "(CUDA_VISIBLE_DEVICES=0,1)"),
            std::string::npos)
      << crowded.status();
}

}  // namespace
}  // namespace spindle::train
