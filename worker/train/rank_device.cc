#include "worker/train/rank_device.h"

#include <torch/cuda.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"

namespace spindle::train {
namespace {

std::string VisibleNote(const DeviceSupport& s) {
  return s.visible_env ? absl::StrCat("CUDA_VISIBLE_DEVICES=", *s.visible_env)
                       : std::string("CUDA_VISIBLE_DEVICES unset");
}

}  // namespace

DeviceSupport ProbeDeviceSupport() {
  DeviceSupport s;
#if SPINDLE_NCCL_GROUPS
  s.cuda_ranks = true;
#endif
  s.visible_gpus = static_cast<int>(torch::cuda::device_count());
  if (const char* env = std::getenv("CUDA_VISIBLE_DEVICES"); env != nullptr) s.visible_env = env;
  return s;
}

absl::StatusOr<c10::Device> SelectRankDevice(config::Device want, const DeviceSupport& support) {
  if (want == config::Device::kCpu) return c10::Device(c10::kCPU);
  if (!support.cuda_ranks) {
    return absl::FailedPreconditionError(
        "resources.device is cuda, but this build has no CUDA ranks (configure found no nvcc, "
        "NCCL or CUDA libtorch; docs/gpu.md says how to build against one); rebuild on a GPU "
        "machine or set resources.device: cpu");
  }
  if (support.visible_gpus < 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "resources.device is cuda, but this rank sees no CUDA device (", VisibleNote(support),
        "); run the job on GPU workers or set resources.device: cpu"));
  }
  return c10::Device(c10::kCUDA, 0);
}

absl::StatusOr<std::vector<std::string>> LocalRankDevices(config::Device want, int ranks,
                                                          const DeviceSupport& support) {
  if (want == config::Device::kCpu) return std::vector<std::string>(ranks);
  SPINDLE_RETURN_IF_ERROR(SelectRankDevice(want, support).status());
  if (ranks > support.visible_gpus) {
    return absl::InvalidArgumentError(absl::StrCat(
        "resources.device is cuda: one rank per GPU, but --local-ranks ", ranks, " exceeds the ",
        support.visible_gpus, " visible GPU(s) (", VisibleNote(support), "); pass --local-ranks ",
        support.visible_gpus, " or fewer"));
  }
  // Entries of an existing CUDA_VISIBLE_DEVICES (indices or GPU-… UUIDs) are
  // passed through, so a launcher limited to GPUs 2,3 starts ranks on them.
  std::vector<std::string> listed =
      absl::StrSplit(support.visible_env.value_or(""), ',', absl::SkipEmpty());
  std::vector<std::string> devices;
  for (int r = 0; r < ranks; ++r) {
    devices.push_back(r < static_cast<int>(listed.size()) ? listed[r] : absl::StrCat(r));
  }
  return devices;
}

}  // namespace spindle::train
