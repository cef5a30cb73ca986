// libFuzzer: the planner on specs built from fuzz bytes (model shape,
// sequence length, batch, degrees, layout, checkpointing, precision, nodes)
// against small CPU and GPU inventories. Invariants: MakePlan never crashes;
// a plan it returns fits its own memory estimate, uses dp·U·R ranks placed
// on distinct (worker, device) pairs, and explains itself; a refusal says
// why.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/config/load.h"
#include "coordinator/planner/plan.h"

namespace {

using spindle::planner::Inventory;
using spindle::planner::NodeInfo;

Inventory Nodes(int count, int devices, bool cuda, int64_t memory, double peak) {
  Inventory inv;
  for (int i = 0; i < count; ++i) {
    NodeInfo n;
    n.worker = absl::StrCat("n", i);
    n.kind = cuda ? spindle::config::Device::kCuda : spindle::config::Device::kCpu;
    for (int d = 0; d < devices; ++d) {
      spindle::planner::DeviceInfo dev;
      dev.index = d;
      dev.memory_bytes = memory;
      dev.peak_flops_fp32 = peak;
      dev.peak_flops_bf16 = cuda ? peak * 8 : 0;
      n.devices.push_back(dev);
    }
    n.intra_node_bandwidth = 100e9;
    n.inter_node_bandwidth = 10e9;
    inv.nodes.push_back(n);
  }
  return inv;
}

void Check(bool ok, const std::string& what) {
  if (!ok) {
    std::cerr << "planner invariant broken: " << what << "\n";
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const int heads = in.ConsumeIntegralInRange(1, 64);
  const int kv = in.ConsumeIntegralInRange(1, heads);
  const int head_dim = 2 * in.ConsumeIntegralInRange(1, 64);
  const bool gpu = in.ConsumeBool();
  const char* layouts[] = {"contiguous", "zigzag", "striped"};
  const char* ckpt[] = {"none", "attention", "full"};
  auto degree = [&] {
    const int v = in.ConsumeIntegralInRange(0, 8);
    return v == 0 ? std::string("auto") : std::to_string(v);
  };
  const std::string yaml = absl::StrCat(
      "apiVersion: spindle/v1\nkind: TrainJob\nmetadata: {name: fuzz}\nspec:\n",
      "  model: {hidden_size: ", heads * head_dim,
      ", intermediate_size: ", in.ConsumeIntegralInRange(1, 4096),
      ", num_hidden_layers: ", in.ConsumeIntegralInRange(1, 48),
      ", num_attention_heads: ", heads, ", num_key_value_heads: ", kv,
      ", vocab_size: ", in.ConsumeIntegralInRange(2, 200000), "}\n",
      "  data: {source: synthetic, seq_len: ", in.ConsumeIntegralInRange(2, 1 << 20),
      ", global_batch_seqs: ", in.ConsumeIntegralInRange(0, 16),
      ", micro_batch_seqs: ", in.ConsumeIntegralInRange(1, 4), "}\n",
      "  parallel: {dp: ", degree(), ", sp: {ulysses: ", degree(), ", ring: ", degree(),
      ", layout: ", layouts[in.ConsumeIntegralInRange(0, 2)],
      ", schedule: ", in.ConsumeBool() ? "ring" : "lightseq", "}}\n",
      "  resources: {device: ", gpu ? "cuda" : "cpu",
      ", nodes: {min: 1, max: ", in.ConsumeIntegralInRange(1, 4), "}, devices_per_node: ",
      degree(), "}\n",
      "  train: {max_steps: 10, precision: ", in.ConsumeBool() ? "bf16" : "fp32",
      ", activation_checkpointing: ", ckpt[in.ConsumeIntegralInRange(0, 2)],
      ", optimizer: {sharded: ", in.ConsumeBool() ? "true" : "false", "}}\n");
  // SPINDLE_FUZZ_PRINT=1 shows what an input means (for turning a crash into a test).
  static const bool print = std::getenv("SPINDLE_FUZZ_PRINT") != nullptr;
  absl::StatusOr<spindle::config::JobSpec> spec = spindle::config::ParseJobSpec(yaml, "fuzz", {});
  if (print) std::cerr << yaml << (spec.ok() ? "" : spec.status().ToString()) << "\n";
  if (!spec.ok()) return 0;
  const Inventory inv =
      gpu ? Nodes(in.ConsumeIntegralInRange(1, 3), 8, true, int64_t{80} << 30, 60e12)
          : Nodes(in.ConsumeIntegralInRange(1, 3), in.ConsumeIntegralInRange(1, 4), false,
                  int64_t{8} << 30, 100e9);
  absl::StatusOr<spindle::planner::Plan> plan = spindle::planner::MakePlan(*spec, inv);
  if (print) {
    std::cerr << inv.nodes.size() << " nodes × " << inv.nodes[0].devices.size() << "\n"
              << (plan.ok() ? spindle::planner::ExplainPlan(*plan, *spec) : plan.status().ToString())
              << "\n";
  }
  if (!plan.ok()) {
    Check(!plan.status().message().empty(), "a refusal without a reason");
    return 0;
  }
  const spindle::planner::Candidate& c = plan->chosen;
  Check(c.feasible, "the chosen candidate is infeasible");
  Check(c.memory.total <= c.memory.capacity, "the chosen plan does not fit");
  Check(plan->world() == c.dp * c.ulysses * c.ring, "world != dp·U·R");
  Check(static_cast<int>(plan->ranks.size()) == plan->world(), "a rank without placement");
  std::set<std::pair<std::string, int>> used;
  for (const auto& r : plan->ranks) {
    Check(used.insert({r.worker, r.device}).second, "two ranks on one device");
  }
  Check(!spindle::planner::ExplainPlan(*plan, *spec).empty(), "no explanation");
  return 0;
}
