// Heartbeats count only from the worker instance that registered last: each
// registration gets a new session secret that its heartbeats must carry.
#include <gtest/gtest.h>

#include "coordinator/service/job_manager.h"
#include "coordinator/service/rendezvous_service.h"
#include "coordinator/store/job_store.h"

namespace spindle::coordinator {
namespace {

v1::WorkerInfo Worker(const std::string& id) {
  v1::WorkerInfo info;
  info.set_worker_id(id);
  info.set_control_address("127.0.0.1:1");  // never called: nothing is scheduled
  v1::Device* d = info.add_devices();
  d->set_kind("cpu");
  d->set_memory_bytes(int64_t{1} << 30);
  d->set_peak_flops_fp32(1e9);
  return info;
}

v1::WorkerHeartbeat Beat(const std::string& id, const std::string& session) {
  v1::WorkerHeartbeat hb;
  hb.set_worker_id(id);
  hb.set_session(session);
  return hb;
}

class WorkerSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::JobStore::Open(":memory:");
    ASSERT_TRUE(store.ok()) << store.status();
    auto m = JobManager::Create(*std::move(store), &rendezvous_, {});
    ASSERT_TRUE(m.ok()) << m.status();
    manager_ = *std::move(m);
  }
  RendezvousService rendezvous_;
  std::unique_ptr<JobManager> manager_;
};

TEST_F(WorkerSessionTest, OnlyTheCurrentSessionIsHeard) {
  const std::string first = manager_->RegisterWorker(Worker("w0")).session();
  ASSERT_EQ(first.size(), 32u);
  EXPECT_FALSE(manager_->OnHeartbeat(Beat("w0", first)).reregister());
  EXPECT_TRUE(manager_->OnHeartbeat(Beat("w0", "")).reregister());
  EXPECT_TRUE(manager_->OnHeartbeat(Beat("w0", first + "x")).reregister());

  // The worker restarted: the old instance's session no longer counts.
  const std::string second = manager_->RegisterWorker(Worker("w0")).session();
  EXPECT_NE(second, first);
  EXPECT_TRUE(manager_->OnHeartbeat(Beat("w0", first)).reregister());
  EXPECT_FALSE(manager_->OnHeartbeat(Beat("w0", second)).reregister());

  // Another worker's session does not open this one.
  const std::string other = manager_->RegisterWorker(Worker("w1")).session();
  EXPECT_TRUE(manager_->OnHeartbeat(Beat("w0", other)).reregister());
  EXPECT_TRUE(manager_->OnHeartbeat(Beat("unknown", other)).reregister());
}

}  // namespace
}  // namespace spindle::coordinator
