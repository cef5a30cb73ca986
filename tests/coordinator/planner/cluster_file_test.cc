#include "coordinator/planner/cluster_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace spindle::planner {
namespace {

using ::testing::HasSubstr;

std::string ParseError(const std::string& yaml) {
  absl::StatusOr<Inventory> inventory = ParseClusterFile(yaml, "cluster.yaml");
  EXPECT_FALSE(inventory.ok()) << "parsed unexpectedly:\n" << yaml;
  if (inventory.ok()) return "";
  EXPECT_EQ(inventory.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(inventory.status().message());
}

// Line numbers matter to the tests: keep the layout.
constexpr char kOneNode[] = R"(apiVersion: spindle/v1
kind: Cluster
nodes:
  - name: box
    device: cpu
    devices: 2
    device_memory: 16Gi
    peak_tflops: {fp32: 0.2}
    intra_node_bandwidth: 10GB/s
    inter_node_bandwidth: 1GB/s
)";

std::string OneNodeWith(const std::string& from, const std::string& to) {
  std::string yaml = kOneNode;
  const size_t at = yaml.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return yaml.replace(at, from.size(), to);
}

TEST(ClusterFileTest, ExampleH200FileExpandsCount) {
  absl::StatusOr<Inventory> inventory =
      LoadClusterFile(std::string(SPINDLE_CLUSTER_EXAMPLES_DIR) + "/cluster-2x8-h200.yaml");
  ASSERT_TRUE(inventory.ok()) << inventory.status();
  ASSERT_EQ(inventory->nodes.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const NodeInfo& n = inventory->nodes[i];
    EXPECT_EQ(n.worker, "h200-" + std::to_string(i));
    EXPECT_EQ(n.host, "h200-" + std::to_string(i) + ".example");
    EXPECT_EQ(n.kind, config::Device::kCuda);
    EXPECT_EQ(n.intra_node_bandwidth, 450e9);
    EXPECT_EQ(n.inter_node_bandwidth, 50e9);
    ASSERT_EQ(n.devices.size(), 8u);
    for (int d = 0; d < 8; ++d) {
      EXPECT_EQ(n.devices[d].index, d);
      EXPECT_EQ(n.devices[d].name, "NVIDIA H200");
      EXPECT_EQ(n.devices[d].memory_bytes, int64_t{141} << 30);
      EXPECT_EQ(n.devices[d].peak_flops_bf16, 989e12);
      EXPECT_EQ(n.devices[d].peak_flops_fp32, 67e12);
    }
  }
  absl::StatusOr<Inventory> h100 =
      LoadClusterFile(std::string(SPINDLE_CLUSTER_EXAMPLES_DIR) + "/cluster-2x8-h100.yaml");
  ASSERT_TRUE(h100.ok()) << h100.status();
  EXPECT_EQ(h100->nodes.at(1).devices.at(7).memory_bytes, int64_t{80} << 30);
}

TEST(ClusterFileTest, DefaultsForOptionalFields) {
  absl::StatusOr<Inventory> inventory = ParseClusterFile(kOneNode, "cluster.yaml");
  ASSERT_TRUE(inventory.ok()) << inventory.status();
  ASSERT_EQ(inventory->nodes.size(), 1u);  // count 1: the name as written
  const NodeInfo& n = inventory->nodes[0];
  EXPECT_EQ(n.worker, "box");
  EXPECT_EQ(n.host, "box");
  EXPECT_EQ(n.kind, config::Device::kCpu);
  ASSERT_EQ(n.devices.size(), 2u);
  EXPECT_EQ(n.devices[1].index, 1);
  EXPECT_EQ(n.devices[1].name, "cpu");
  EXPECT_EQ(n.devices[1].peak_flops_bf16, 0);  // no bf16 path
  EXPECT_DOUBLE_EQ(n.devices[1].peak_flops_fp32, 0.2e12);

  inventory = ParseClusterFile(
      OneNodeWith("  - name: box\n", "  - name: box\n    count: 3\n    host: box.lan\n"), "c");
  ASSERT_TRUE(inventory.ok()) << inventory.status();
  ASSERT_EQ(inventory->nodes.size(), 3u);
  EXPECT_EQ(inventory->nodes[2].worker, "box-2");
  EXPECT_EQ(inventory->nodes[2].host, "box-2.lan");
}

TEST(ClusterFileTest, UnknownKeysSuggestTheNearestWithLineAndColumn) {
  EXPECT_EQ(ParseError(OneNodeWith("devices: 2", "devics: 2")),
            "cluster.yaml:6:5: nodes[0].devics: unknown field; did you mean nodes[0].devices?\n"
            "cluster.yaml:4:5: nodes[0].devices: required field is missing");
  EXPECT_EQ(ParseError(OneNodeWith("{fp32: 0.2}", "{fp23: 0.2}")),
            "cluster.yaml:8:19: nodes[0].peak_tflops.fp23: unknown field; did you mean "
            "nodes[0].peak_tflops.fp32?\n"
            "cluster.yaml:8:18: nodes[0].peak_tflops.fp32: required field is missing");
  EXPECT_EQ(ParseError(std::string(kOneNode) + "node: {}\n"),
            "cluster.yaml:11:1: node: unknown field; did you mean nodes?");
  EXPECT_THAT(ParseError(OneNodeWith("    device: cpu\n", "    device: cpu\n    device: cuda\n")),
              HasSubstr("cluster.yaml:6:5: nodes[0].device: duplicate field"));
}

TEST(ClusterFileTest, BadUnitsAndValues) {
  EXPECT_EQ(ParseError(OneNodeWith("16Gi", "16Gx")),
            "cluster.yaml:7:20: nodes[0].device_memory: '16Gx' has unknown unit 'Gx'; use Ki, Mi, "
            "Gi, Ti, Pi (powers of 1024) or K, M, G, T, P (powers of 1000)");
  EXPECT_THAT(ParseError(OneNodeWith("10GB/s", "10GB")),
              HasSubstr("cluster.yaml:9:27: nodes[0].intra_node_bandwidth: '10GB' is not a "
                        "bandwidth; write e.g. 450GB/s"));
  EXPECT_THAT(ParseError(OneNodeWith("1GB/s", "1GX/s")),
              HasSubstr("nodes[0].inter_node_bandwidth: '1GX/s' has unknown unit 'GX/s'"));
  EXPECT_THAT(ParseError(OneNodeWith("devices: 2", "devices: 0")),
              HasSubstr("cluster.yaml:6:14: nodes[0].devices: must be in [1, 1024], got 0"));
  EXPECT_THAT(ParseError(OneNodeWith("device: cpu", "device: cdua")),
              HasSubstr("nodes[0].device: 'cdua' is not one of cpu, cuda; did you mean cuda?"));
  EXPECT_THAT(ParseError(OneNodeWith("{fp32: 0.2}", "{fp32: fast}")),
              HasSubstr("nodes[0].peak_tflops.fp32: expected a number, got 'fast'"));
  EXPECT_THAT(ParseError(OneNodeWith("kind: Cluster", "kind: TrainJob")),
              HasSubstr("cluster.yaml:2:7: kind: must be Cluster, got 'TrainJob'"));
  EXPECT_THAT(ParseError("apiVersion: spindle/v1\nkind: Cluster\nnodes: []\n"),
              HasSubstr("cluster.yaml:3:8: nodes: expected a non-empty list of nodes"));
  EXPECT_THAT(ParseError("nodes: [\n"), HasSubstr("cluster.yaml:"));
}

TEST(ClusterFileTest, WorkerIdsAreUnique) {
  const std::string yaml = std::string(kOneNode) + R"(  - name: box
    count: 2
    device: cpu
    devices: 1
    device_memory: 1Gi
    peak_tflops: {fp32: 1}
    intra_node_bandwidth: 1GB/s
    inter_node_bandwidth: 1GB/s
)";
  // box-0 and box-1 do not clash with box; a second plain box would.
  ASSERT_TRUE(ParseClusterFile(yaml, "cluster.yaml").ok());
  std::string twice = yaml;
  twice.replace(twice.find("    count: 2\n"), 13, "");
  EXPECT_THAT(ParseError(twice),
              HasSubstr("cluster.yaml:11:11: nodes[1].name: worker id box is already used by "
                        "nodes[0]"));
}

TEST(ClusterFileTest, UnitParsers) {
  EXPECT_EQ(*ParseBandwidth("450GB/s"), 450e9);
  EXPECT_EQ(*ParseBandwidth("50GiB/s"), 50.0 * (1 << 30));
  EXPECT_EQ(*ParseBandwidth("400Gb/s"), 50e9);
  EXPECT_EQ(*ParseBandwidth("12.5GB/s"), 12.5e9);
  EXPECT_EQ(*ParseBandwidth("25e9"), 25e9);
  EXPECT_FALSE(ParseBandwidth("0GB/s").ok());
  EXPECT_FALSE(ParseBandwidth("-1").ok());
  EXPECT_FALSE(ParseBandwidth("GB/s").ok());
  EXPECT_EQ(*ParseMemorySize("80GB"), 80000000000);
  EXPECT_EQ(*ParseMemorySize("141GiB"), int64_t{141} << 30);
  EXPECT_EQ(*ParseMemorySize("141Gi"), int64_t{141} << 30);
  EXPECT_EQ(*ParseMemorySize("1024"), 1024);
  EXPECT_FALSE(ParseMemorySize("lots").ok());
}

TEST(ClusterFileTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadClusterFile("/nonexistent/cluster.yaml").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace spindle::planner
