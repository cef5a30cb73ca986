// Where one rank of a job computes, decided from `resources.device` and what
// the process can see. cpu: the CPU, groups over Gloo. cuda: one GPU per rank,
// groups over NCCL; the worker daemon (and the local launcher) narrow each
// rank's CUDA_VISIBLE_DEVICES to its own device, so the rank takes cuda:0.
// Pure functions; ProbeDeviceSupport is the one that asks the machine.
#pragma once

#include <c10/core/Device.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/job_spec.h"

namespace spindle::train {

struct DeviceSupport {
  bool cuda_ranks = false;  // built with a CUDA libtorch and NCCL (SPINDLE_NCCL_GROUPS)
  int visible_gpus = 0;
  std::optional<std::string> visible_env;  // CUDA_VISIBLE_DEVICES, if set
};

// This process: how it was built and the GPUs it sees.
DeviceSupport ProbeDeviceSupport();

// The device of a rank, or FailedPrecondition naming resources.device and
// what is missing (CUDA support in this build, or a visible GPU).
absl::StatusOr<c10::Device> SelectRankDevice(config::Device want, const DeviceSupport& support);

// CUDA_VISIBLE_DEVICES for each of `ranks` ranks started on this host by the
// local launcher: the r-th visible GPU for rank r ("" each for cpu jobs).
// InvalidArgument when a cuda job has more ranks than visible GPUs, since
// NCCL takes one rank per GPU.
absl::StatusOr<std::vector<std::string>> LocalRankDevices(config::Device want, int ranks,
                                                          const DeviceSupport& support);

}  // namespace spindle::train
