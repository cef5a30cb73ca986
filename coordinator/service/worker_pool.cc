#include "coordinator/service/worker_pool.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "common/rpc/secret.h"

namespace spindle::coordinator {
namespace {

bool KindMatches(const v1::WorkerInfo& info, config::Device kind) {
  if (info.devices().empty()) return false;
  const char* want = kind == config::Device::kCuda ? "cuda" : "cpu";
  return info.devices(0).kind() == want;
}

int64_t UnixMillis(Clock::time_point t, Clock::time_point now) {
  const auto wall = std::chrono::system_clock::now() - (now - t);
  return std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
}

}  // namespace

bool WorkerPool::Register(const v1::WorkerInfo& info, Clock::time_point now) {
  auto [it, inserted] = workers_.try_emplace(info.worker_id());
  WorkerEntry& w = it->second;
  const bool restarted = !inserted && w.alive;
  if (inserted || w.info.control_address() != info.control_address()) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
    w.control =
        v1::WorkerControl::NewStub(rpc::MakeChannel(info.control_address(), security_, args));
  }
  w.info = info;
  w.last_heartbeat = now;
  w.alive = true;
  w.draining = false;
  w.reported_busy.clear();
  w.session = rpc::NewSecret();
  return restarted;
}

WorkerEntry* WorkerPool::Find(const std::string& worker_id) {
  auto it = workers_.find(worker_id);
  return it == workers_.end() ? nullptr : &it->second;
}

planner::Inventory WorkerPool::Inventory(config::Device kind, bool free_only) const {
  planner::Inventory inv;
  for (const auto& [id, w] : workers_) {
    if (!w.alive || (free_only && w.draining) || !KindMatches(w.info, kind)) continue;
    planner::NodeInfo node;
    node.worker = id;
    node.host = w.info.host();
    node.kind = kind;
    node.intra_node_bandwidth = w.info.intra_node_bandwidth();
    node.inter_node_bandwidth = w.info.inter_node_bandwidth();
    for (const v1::Device& d : w.info.devices()) {
      if (free_only && (w.reserved.count(d.index()) || w.reported_busy.count(d.index()))) continue;
      planner::DeviceInfo device;
      device.index = d.index();
      device.name = d.name();
      device.memory_bytes = d.memory_bytes();
      device.peak_flops_fp32 = d.peak_flops_fp32();
      device.peak_flops_bf16 = d.peak_flops_bf16();
      node.devices.push_back(device);
    }
    if (!node.devices.empty()) inv.nodes.push_back(std::move(node));
  }
  return inv;
}

planner::Inventory WorkerPool::FreeInventory(config::Device kind) const {
  return Inventory(kind, /*free_only=*/true);
}

planner::Inventory WorkerPool::FullInventory(config::Device kind) const {
  return Inventory(kind, /*free_only=*/false);
}

void WorkerPool::Reserve(const AttemptKey& attempt, const std::string& worker_id, int device) {
  workers_[worker_id].reserved[device] = attempt;
}

void WorkerPool::Release(const AttemptKey& attempt) {
  for (auto& [id, w] : workers_) {
    for (auto it = w.reserved.begin(); it != w.reserved.end();) {
      it = it->second == attempt ? w.reserved.erase(it) : std::next(it);
    }
  }
}

std::vector<std::string> WorkerPool::Expire(Clock::time_point now,
                                            std::chrono::milliseconds lease) {
  std::vector<std::string> lost;
  for (auto& [id, w] : workers_) {
    if (w.alive && now - w.last_heartbeat > lease) {
      w.alive = false;
      w.reported_busy.clear();
      lost.push_back(id);
    }
  }
  return lost;
}

void WorkerPool::Describe(Clock::time_point now, std::vector<v1::WorkerInfo>* out) const {
  for (const auto& [id, w] : workers_) {
    v1::WorkerInfo info = w.info;
    info.set_state(!w.alive ? "lost" : w.draining ? "draining" : "alive");
    info.set_last_heartbeat_ms(UnixMillis(w.last_heartbeat, now));
    for (const auto& [device, attempt] : w.reserved) {
      info.add_busy(absl::StrCat(attempt.first, "/", attempt.second, "@", device));
    }
    out->push_back(std::move(info));
  }
}

}  // namespace spindle::coordinator
