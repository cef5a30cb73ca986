#include "worker/train/rank_stats.h"

#include <set>

#include "nlohmann/json.hpp"

namespace spindle::train {

void RankStats::AddStep(const StepStats& step) {
  ++steps_;
  tokens_ += step.tokens;
  phases_.data += step.phases.data;
  phases_.forward += step.phases.forward;
  phases_.backward += step.phases.backward;
  phases_.grad_sync += step.phases.grad_sync;
  phases_.optimizer += step.phases.optimizer;
}

std::string RankStats::Json(const NamedGroups& groups) const {
  nlohmann::json j;
  j["steps"] = steps_;
  j["tokens"] = tokens_;
  j["phases"] = {{"data", phases_.data},           {"forward", phases_.forward},
                 {"backward", phases_.backward},   {"grad_sync", phases_.grad_sync},
                 {"optimizer", phases_.optimizer}, {"checkpoint", checkpoint_seconds_}};
  nlohmann::json comm = nlohmann::json::object();
  std::set<const comm::Communicator*> seen;
  for (const auto& [name, group] : groups) {
    if (group == nullptr || !seen.insert(group.get()).second || group->size() <= 1) continue;
    nlohmann::json ops = nlohmann::json::object();
    for (int op = 0; op < comm::kNumOps; ++op) {
      const comm::OpCounters& c = group->counters().ops[op];
      if (c.calls == 0) continue;
      ops[comm::OpName(static_cast<comm::Op>(op))] = {{"bytes", c.bytes_sent},
                                                       {"wait_seconds", c.wait_seconds}};
    }
    comm[name] = std::move(ops);
  }
  j["comm"] = std::move(comm);
  return j.dump();
}

}  // namespace spindle::train
