// Runs the real `spindle` binary for the verbs that need no coordinator, and
// checks exit codes and messages as a user or script would see them.
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/proc/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/temp_dir.h"

namespace spindle::cli {
namespace {

using ::testing::HasSubstr;

const std::string kDemo = std::string(SPINDLE_CONFIG_EXAMPLES_DIR) + "/demo.yaml";

// Two workers of two CPU slots each: the demo's 4 ranks fit exactly.
constexpr char kCluster[] = R"(apiVersion: spindle/v1
kind: Cluster
nodes:
  - name: cpu
    count: 2
    device: cpu
    devices: 2
    device_memory: 8Gi
    peak_tflops: {fp32: 0.1}
    intra_node_bandwidth: 10GB/s
    inter_node_bandwidth: 1GB/s
)";

struct Result {
  int code = -1;
  std::string out, err;
  double seconds = 0;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

Result RunSpindle(const testing::TempDir& dir, std::vector<std::string> args) {
  proc::SpawnOptions options;
  options.program = SPINDLE_CLI_PATH;
  options.args = std::move(args);
  options.stdout_path = dir.Join("stdout");
  options.stderr_path = dir.Join("stderr");
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<proc::Subprocess> child = proc::Subprocess::Spawn(options);
  EXPECT_TRUE(child.ok()) << child.status();
  Result r;
  if (!child.ok()) return r;
  std::vector<proc::Subprocess> children;
  children.push_back(*std::move(child));
  auto status = proc::WaitAll(children, std::chrono::seconds(60), /*fail_fast=*/false);
  EXPECT_TRUE(status.ok()) << status.status();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (status.ok()) {
    EXPECT_TRUE((*status)[0].exited) << (*status)[0].Describe();
    r.code = (*status)[0].code;
  }
  r.out = ReadFile(options.stdout_path);
  r.err = ReadFile(options.stderr_path);
  return r;
}

TEST(SpindleBinaryTest, ValidateDemo) {
  testing::TempDir dir;
  Result r = RunSpindle(dir, {"validate", kDemo});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("demo.yaml: valid (job demo: "));

  r = RunSpindle(dir, {"validate", kDemo, "--show-defaults", "--set", "train.max_steps=70"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("max_steps: 70"));
  EXPECT_THAT(r.out, HasSubstr("apiVersion: spindle/v1"));

  r = RunSpindle(dir, {"validate", kDemo, "-o", "json"});
  EXPECT_EQ(r.code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["name"], "demo");
  EXPECT_EQ(j["spec"]["spec"]["train"]["max_steps"], 1000);
  EXPECT_EQ(j["spec"]["spec"]["data"]["seq_len"], 128);
}

TEST(SpindleBinaryTest, InvalidSpecNamesTheField) {
  testing::TempDir dir;
  std::string spec = ReadFile(kDemo);
  size_t at = spec.find("    max_steps: 1000");
  ASSERT_NE(at, std::string::npos);
  spec.insert(at, "    max_stepz: 10\n");
  WriteFile(dir.Join("bad.yaml"), spec);

  Result r = RunSpindle(dir, {"validate", dir.Join("bad.yaml")});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("train.max_stepz: unknown field"));
  EXPECT_THAT(r.err, HasSubstr("bad.yaml:"));

  r = RunSpindle(dir, {"validate", dir.Join("bad.yaml"), "-o", "json"});
  EXPECT_EQ(r.code, 2);
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["valid"], false);
  ASSERT_EQ(j["errors"].size(), 1u);
  EXPECT_THAT(j["errors"][0].get<std::string>(), HasSubstr("train.max_stepz"));

  // submit checks the spec before it needs a coordinator.
  r = RunSpindle(dir, {"submit", dir.Join("bad.yaml"), "--coordinator", "127.0.0.1:1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("train.max_stepz"));

  r = RunSpindle(dir, {"validate", dir.Join("missing.yaml")});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("missing.yaml"));
}

TEST(SpindleBinaryTest, PlanLocallyOnAClusterFile) {
  testing::TempDir dir;
  WriteFile(dir.Join("cluster.yaml"), kCluster);
  Result r = RunSpindle(dir, {"plan", kDemo, "--cluster", dir.Join("cluster.yaml")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ulysses"));

  r = RunSpindle(dir, {"plan", kDemo, "--cluster", dir.Join("cluster.yaml"), "-o", "json"});
  EXPECT_EQ(r.code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["world_size"], 4);
  EXPECT_EQ(j["ranks"].size(), 4u);
  EXPECT_EQ(j["chosen"]["ulysses"], 2);
  EXPECT_THAT(j["explanation"].get<std::string>(), HasSubstr("ulysses"));

  // Eight ranks on four nodes, and the cluster has two: infeasible is exit 2,
  // with the planner's reason and nearest change.
  r = RunSpindle(dir, {"plan", kDemo, "--cluster", dir.Join("cluster.yaml"), "--set",
                       "resources.nodes.min=4", "--set", "resources.nodes.max=4", "--set",
                       "parallel.dp=2", "--set", "data.micro_batch_seqs=4"});
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.err, HasSubstr("no feasible plan"));
  EXPECT_THAT(r.err, HasSubstr("resources.nodes.min"));
}

TEST(SpindleBinaryTest, UnreachableCoordinatorIsExit5Quickly) {
  testing::TempDir dir;
  Result r = RunSpindle(dir, {"status", "x", "--coordinator", "127.0.0.1:1"});
  EXPECT_EQ(r.code, 5);
  EXPECT_THAT(r.err, HasSubstr("cannot reach the coordinator at 127.0.0.1:1"));
  EXPECT_THAT(r.err, HasSubstr("SPINDLE_COORDINATOR"));
  EXPECT_LT(r.seconds, 10);
}

TEST(SpindleBinaryTest, UsageErrorsAreExit2) {
  testing::TempDir dir;
  Result r = RunSpindle(dir, {"frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown verb 'frobnicate'"));
  r = RunSpindle(dir, {"status", "x", "--folow"});
  EXPECT_EQ(r.code, 2);
  r = RunSpindle(dir, {});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("usage: spindle"));
  r = RunSpindle(dir, {"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("usage: spindle"));
  r = RunSpindle(dir, {"logs", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("--tail N"));
}

}  // namespace
}  // namespace spindle::cli
