// libFuzzer: the coordinator's request handling (JobManager Submit, Plan,
// Get, Cancel, OnHeartbeat — what the JobService and WorkerRegistry
// handlers call) on protobuf messages decoded from fuzz bytes, with an
// in-memory job store and two registered CPU workers. Invariants: no crash,
// no sanitizer report; every refusal carries a message.
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>

#include "coordinator/service/job_manager.h"
#include "coordinator/service/rendezvous_service.h"
#include "coordinator/store/job_store.h"

namespace {

namespace v1 = spindle::v1;
using spindle::coordinator::JobManager;

// Registration sessions of the two workers, so fuzzed heartbeats get past
// the session check and exercise what lies behind it.
std::map<std::string, std::string>& Sessions() {
  static auto* sessions = new std::map<std::string, std::string>();
  return *sessions;
}

JobManager& Manager() {
  static spindle::coordinator::RendezvousService* rendezvous =
      new spindle::coordinator::RendezvousService();
  static JobManager* manager = [] {
    auto store = spindle::store::JobStore::Open(":memory:");
    if (!store.ok()) std::abort();
    auto m = JobManager::Create(*std::move(store), rendezvous, {});
    if (!m.ok()) std::abort();
    for (const char* name : {"w0", "w1"}) {
      v1::WorkerInfo info;
      info.set_worker_id(name);
      info.set_control_address("127.0.0.1:1");  // never called: the scheduler is not started
      for (int d = 0; d < 2; ++d) {
        v1::Device* dev = info.add_devices();
        dev->set_index(d);
        dev->set_kind("cpu");
        dev->set_memory_bytes(int64_t{8} << 30);
        dev->set_peak_flops_fp32(100e9);
      }
      info.set_intra_node_bandwidth(5e9);
      info.set_inter_node_bandwidth(1e9);
      Sessions()[name] = (*m)->RegisterWorker(info).session();
    }
    return m->release();
  }();
  return *manager;
}

void Check(const absl::Status& s) {
  if (!s.ok() && s.message().empty()) {
    std::cerr << "a refusal without a message: " << s.code() << "\n";
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  JobManager& m = Manager();
  const int op = data[0] % 4;
  const auto* body = data + 1;
  const int n = static_cast<int>(size - 1);
  switch (op) {
    case 0: {
      v1::SubmitJobRequest r;
      if (r.ParseFromArray(body, n)) Check(m.Submit(r).status());
      break;
    }
    case 1: {
      v1::SpecSource r;
      if (r.ParseFromArray(body, n)) Check(m.Plan(r).status());
      break;
    }
    case 2: {
      v1::CancelJobRequest r;
      if (r.ParseFromArray(body, n)) {
        Check(m.Get(r.job_id()).status());
        Check(m.Cancel(r.job_id(), r.reason()).status());
      }
      break;
    }
    case 3: {
      v1::WorkerHeartbeat r;
      if (!r.ParseFromArray(body, n)) break;
      if (auto it = Sessions().find(r.worker_id()); it != Sessions().end() && n % 2 == 0) {
        r.set_session(it->second);
      }
      m.OnHeartbeat(r);
      break;
    }
  }
  return 0;
}
