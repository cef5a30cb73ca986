// The service on a GPU machine, end to end: a real coordinator and a worker
// that registers the GPUs nvidia-smi reports, a cuda job pushed through the
// `spindle` CLI, planned onto one GPU and trained there in bf16 by a rank
// that forms NCCL groups, to a checkpoint and an export. Skips without a
// GPU (nvidia-smi listing none), as in CI.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/integration/local_cluster.h"

namespace spindle::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

bool HaveGpu() {
  FILE* p = popen("nvidia-smi -L 2>/dev/null", "r");
  if (p == nullptr) return false;
  char line[256];
  const bool listed = fgets(line, sizeof(line), p) != nullptr;
  return pclose(p) == 0 && listed;
}

json JobOf(const CliResult& r) {
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.contains("job") ? j["job"] : j;
}

TEST(GpuServiceTest, ACudaJobTrainsOnAGpuWorker) {
  if (!HaveGpu()) GTEST_SKIP() << "no GPU (nvidia-smi lists none)";
  LocalCluster cluster({SPINDLE_COORDINATOR_BIN, SPINDLE_WORKER_BIN, SPINDLE_CLI_BIN});
  ASSERT_TRUE(cluster.StartCoordinator());
  ASSERT_TRUE(cluster.StartWorkers(1, /*slots=*/0));  // 0: the worker offers its GPUs

  const std::string dir = cluster.dir().Join("gpu");
  const std::string spec = cluster.dir().Join("gpu.yaml");
  // Head dim 64 (256 / 4 heads): a shape the CUDA kernels take.
  std::ofstream(spec) << absl::StrCat(R"(apiVersion: spindle/v1
kind: TrainJob
metadata:
  name: gpu
spec:
  model: {preset: tiny, hidden_size: 256, intermediate_size: 512, num_attention_heads: 4}
  data: {source: synthetic, task: copy, seq_len: 256, global_batch_seqs: 4, micro_batch_seqs: 4}
  parallel: {dp: 1, sp: {ulysses: 1, ring: 1}}
  resources: {device: cuda, nodes: {min: 1, max: 1}, devices_per_node: 1}
  train: {max_steps: 10, log_every_steps: 5, precision: bf16, optimizer: {lr: 3.0e-3}}
  checkpoint: {dir: )",
                                      dir, R"(/ckpt, every: {steps: 5}, export: {dir: )", dir,
                                      R"(/export}}
)");
  const CliResult submitted = cluster.Cli({"submit", spec, "-d", "-o", "json"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.out << submitted.err;
  const std::string id = JobOf(submitted).value("id", "");
  ASSERT_FALSE(id.empty()) << submitted.out;
  const CliResult waited = cluster.Cli({"wait", id}, 300s);
  const CliResult logs = cluster.Cli({"logs", id, "--rank", "0"});
  ASSERT_EQ(waited.exit_code, 0) << waited.out << waited.err << "\nrank 0:\n" << logs.out;

  const json job = JobOf(cluster.Cli({"status", id, "-o", "json"}));
  EXPECT_EQ(job.value("state", ""), "SUCCEEDED") << job.dump(2);
  ASSERT_EQ(job["plan"]["ranks"].size(), 1u) << job.dump(2);
  EXPECT_NE(logs.out.find("bf16 on cuda (NCCL)"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("step 10/10"), std::string::npos) << logs.out;
  EXPECT_TRUE(std::ifstream(dir + "/export/model.safetensors").good());
}

}  // namespace
}  // namespace spindle::testing
