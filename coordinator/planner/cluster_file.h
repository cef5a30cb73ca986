// Cluster files: a static inventory in YAML, for `spindle plan --cluster
// FILE` and for tests, so a plan can be made without a running coordinator.
// Strict like job specs (common/config/load.h): unknown keys (with a "did you
// mean"), duplicate keys, wrong types and bad units are errors, one per line,
// each "<source>:<line>:<column>: <path>: <problem>", with paths such as
// nodes[1].device_memory.
//
//   apiVersion: spindle/v1
//   kind: Cluster
//   nodes:
//     - name: gpu-a          # worker id; with count > 1: gpu-a-0, gpu-a-1, ...
//       count: 2             # optional, default 1
//       host: gpu-a.example  # optional, default the worker id; with count > 1
//                            # the index goes before the first dot: gpu-a-0.example
//       device: cuda         # cuda | cpu
//       devices: 8           # per node
//       device_name: NVIDIA H200   # optional, default the device kind
//       device_memory: 141Gi       # per device
//       peak_tflops: {bf16: 989, fp32: 67}   # dense TFLOP/s per device; bf16 optional
//       intra_node_bandwidth: 450GB/s        # per device, one direction
//       inter_node_bandwidth: 50GB/s         # per device to other nodes
//
// Units: device_memory is a byte size as in job specs (config/units.h:
// 141Gi, 80G, 512Mi), and a trailing B is accepted (80GB = 80G, 141GiB =
// 141Gi). Bandwidths are bytes per second: a number with a unit and "/s"
// (450GB/s, 50GiB/s, 12.5GB/s; b for bits: 400Gb/s = 50GB/s) or a plain
// number of bytes per second (25e9).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "coordinator/planner/plan.h"

namespace spindle::planner {

// InvalidArgument listing every problem found.
absl::StatusOr<Inventory> ParseClusterFile(std::string_view yaml_text, std::string_view source);

// Reads the file (NotFound if it cannot) and parses it with the path as source.
absl::StatusOr<Inventory> LoadClusterFile(const std::string& path);

// The unit parsers above; errors describe the value only.
absl::StatusOr<double> ParseBandwidth(std::string_view text);    // bytes per second, > 0
absl::StatusOr<int64_t> ParseMemorySize(std::string_view text);  // bytes

}  // namespace spindle::planner
