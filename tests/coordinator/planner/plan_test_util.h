// Shared by the planner tests: job specs from the tiny preset or the
// examples, inventories of identical CPU or GPU nodes, and the refusal text
// of a plan that must fail.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/config/load.h"
#include "coordinator/planner/cluster_file.h"
#include "coordinator/planner/plan.h"

namespace spindle::planner::testing {

inline constexpr int64_t kGiB = int64_t{1} << 30;

// The tiny preset on the synthetic task; overrides as `--set` writes them.
inline config::JobSpec Job(std::vector<std::string> overrides = {}) {
  static const char kYaml[] = R"(apiVersion: spindle/v1
kind: TrainJob
metadata:
  name: plan-test
spec:
  model:
    preset: tiny
  data:
    source: synthetic
    seq_len: 128
  train:
    max_steps: 10
)";
  absl::StatusOr<config::JobSpec> spec = config::ParseJobSpec(kYaml, "job.yaml", overrides);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : config::JobSpec{};
}

inline config::JobSpec ExampleJob(const std::string& file,
                                  std::vector<std::string> overrides = {}) {
  absl::StatusOr<config::JobSpec> spec =
      config::LoadJobSpecFile(std::string(SPINDLE_CONFIG_EXAMPLES_DIR) + "/" + file, overrides);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : config::JobSpec{};
}

inline Inventory ExampleCluster(const std::string& file) {
  absl::StatusOr<Inventory> inventory =
      LoadClusterFile(std::string(SPINDLE_CLUSTER_EXAMPLES_DIR) + "/" + file);
  EXPECT_TRUE(inventory.ok()) << inventory.status();
  return inventory.ok() ? *inventory : Inventory{};
}

// `nodes` identical nodes named <prefix>-<i> with `devices` devices each.
inline Inventory Nodes(config::Device kind, int nodes, int devices, int64_t memory,
                       const std::string& prefix) {
  Inventory inv;
  for (int i = 0; i < nodes; ++i) {
    NodeInfo n;
    n.worker = prefix + "-" + std::to_string(i);
    n.host = n.worker;
    n.kind = kind;
    n.intra_node_bandwidth = kind == config::Device::kCuda ? 450e9 : 10e9;
    n.inter_node_bandwidth = kind == config::Device::kCuda ? 50e9 : 1e9;
    for (int d = 0; d < devices; ++d) {
      DeviceInfo info;
      info.index = d;
      info.name = kind == config::Device::kCuda ? "gpu" : "cpu";
      info.memory_bytes = memory;
      info.peak_flops_fp32 = kind == config::Device::kCuda ? 67e12 : 100e9;
      info.peak_flops_bf16 = kind == config::Device::kCuda ? 989e12 : 0;
      n.devices.push_back(info);
    }
    inv.nodes.push_back(n);
  }
  return inv;
}
inline Inventory Cpus(int nodes, int devices, int64_t memory = 8 * kGiB) {
  return Nodes(config::Device::kCpu, nodes, devices, memory, "cpu");
}
inline Inventory Gpus(int nodes, int devices, int64_t memory = 80 * kGiB) {
  return Nodes(config::Device::kCuda, nodes, devices, memory, "gpu");
}

inline std::string Refusal(const config::JobSpec& spec, const Inventory& inventory) {
  absl::StatusOr<Plan> plan = MakePlan(spec, inventory);
  EXPECT_FALSE(plan.ok()) << "planned unexpectedly:\n" << ExplainPlan(*plan, spec);
  if (plan.ok()) return "";
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kFailedPrecondition) << plan.status();
  return std::string(plan.status().message());
}

// A model with 32 query and 8 key/value heads, small enough for any device.
inline const std::vector<std::string> kGqaModel = {
    "model.hidden_size=256", "model.intermediate_size=512", "model.num_attention_heads=32",
    "model.num_key_value_heads=8"};

inline std::vector<std::string> With(std::vector<std::string> a,
                                     const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace spindle::planner::testing
