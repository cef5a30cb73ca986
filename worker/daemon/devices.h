// What a worker offers: its CUDA GPUs (found with nvidia-smi, so the daemon
// needs no CUDA runtime) or, without GPUs or when asked, CPU slots: the
// host's cores and memory split evenly, with the fp32 peak measured.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "spindle/v1/worker.pb.h"

namespace spindle::worker {

// Parses `nvidia-smi --query-gpu=index,name,uuid,memory.total
// --format=csv,noheader,nounits` output (memory in MiB).
absl::StatusOr<std::vector<v1::Device>> ParseNvidiaSmi(const std::string& csv);

// The GPUs of this host; empty when nvidia-smi is absent or finds none.
std::vector<v1::Device> DetectGpus();

// `slots` CPU devices sharing `cores` of this host's cores (and memory in
// the same proportion); the peak is measured on that many cores.
std::vector<v1::Device> CpuSlots(int slots, int cores);

// Cores of this host (hardware threads the process may run on).
int HostCores();

}  // namespace spindle::worker
