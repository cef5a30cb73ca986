// FollowJob against an in-process fake JobService: event lines, progress,
// the final summary and exit code, re-opening a broken stream after the last
// seq seen, the wait timeout and giving up on a coordinator that stays away.
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "coordinator/cli/exit_codes.h"
#include "coordinator/cli/follow.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "spindle/v1/job.grpc.pb.h"

namespace spindle::cli {
namespace {

namespace v1 = spindle::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kT0Ms = 1700000000000;

v1::JobEvent State(int64_t seq, v1::JobState state, std::string message) {
  v1::JobEvent e;
  e.set_seq(seq);
  e.set_time_ms(kT0Ms + seq * 1000);
  e.set_kind(v1::JobEvent::STATE);
  e.set_state(state);
  e.set_attempt(1);
  e.set_message(std::move(message));
  return e;
}

v1::JobEvent Progress(int64_t step) {
  v1::JobEvent e;
  e.set_kind(v1::JobEvent::PROGRESS);
  e.mutable_progress()->set_step(step);
  e.mutable_progress()->set_total_steps(1000);
  e.mutable_progress()->set_loss(2.5);
  return e;
}

// Each WatchJob call plays the next script: its events, then its status.
// Past the last script, calls wait until the client goes away.
struct Script {
  std::vector<v1::JobEvent> events;
  grpc::Status status;
};

class FakeJobService final : public v1::JobService::Service {
 public:
  FakeJobService(v1::Job job, std::vector<Script> scripts)
      : job_(std::move(job)), scripts_(std::move(scripts)) {}

  grpc::Status GetJob(grpc::ServerContext*, const v1::GetJobRequest* request,
                      v1::Job* out) override {
    if (request->job_id() != job_.id()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no job");
    *out = job_;
    return grpc::Status::OK;
  }

  grpc::Status WatchJob(grpc::ServerContext* context, const v1::WatchJobRequest* request,
                        grpc::ServerWriter<v1::JobEvent>* writer) override {
    size_t call;
    {
      std::lock_guard<std::mutex> lock(mu_);
      call = after_seqs_.size();
      after_seqs_.push_back(request->after_seq());
    }
    if (call >= scripts_.size()) {
      while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(10));
      return grpc::Status::CANCELLED;
    }
    for (const v1::JobEvent& e : scripts_[call].events) writer->Write(e);
    return scripts_[call].status;
  }

  std::vector<int64_t> after_seqs() {
    std::lock_guard<std::mutex> lock(mu_);
    return after_seqs_;
  }

 private:
  v1::Job job_;
  std::vector<Script> scripts_;
  std::mutex mu_;
  std::vector<int64_t> after_seqs_;
};

class FollowServiceTest : public ::testing::Test {
 protected:
  void Serve(FakeJobService* service) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  int Follow(const FollowOptions& options, const Options& cli = Options()) {
    ClientOptions client_options;
    client_options.address = "127.0.0.1:" + std::to_string(port_);
    Client client(client_options);
    Io io{out_, err_, /*out_is_tty=*/false, absl::UTCTimeZone()};
    return FollowJob(client, options, cli, io);
  }

  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::ostringstream out_, err_;
};

v1::Job FinalJob(v1::JobState state, std::string message = "") {
  v1::Job job;
  job.set_id("demo-3");
  job.set_name("demo");
  job.set_state(state);
  job.set_attempt(1);
  job.set_start_time_ms(kT0Ms);
  job.set_end_time_ms(kT0Ms + 90000);
  job.mutable_progress()->set_step(1000);
  job.mutable_progress()->set_total_steps(1000);
  job.mutable_progress()->set_loss(2.7812);
  job.mutable_progress()->set_first_loss(5.5452);
  job.set_last_checkpoint("runs/demo/checkpoints/step-1000");
  job.set_export_dir("runs/demo/export");
  job.set_message(std::move(message));
  return job;
}

TEST_F(FollowServiceTest, ReopensABrokenStreamAfterTheLastSeq) {
  FakeJobService service(FinalJob(v1::SUCCEEDED),
                         {{{State(1, v1::RUNNING, "every rank started"), Progress(500)},
                           grpc::Status(grpc::StatusCode::UNAVAILABLE, "coordinator restarting")},
                          {{State(2, v1::SUCCEEDED, "done")}, grpc::Status::OK}});
  Serve(&service);
  FollowOptions options;
  options.job_id = "demo-3";
  EXPECT_EQ(Follow(options), kExitOk) << err_.str();
  EXPECT_THAT(service.after_seqs(), ElementsAre(0, 1));
  EXPECT_EQ(out_.str(),
            "22:13:21 job demo-3 RUNNING (attempt 1): every rank started\n"
            "[########........] step 500/1000  loss 2.5000\n"
            "22:13:22 job demo-3 SUCCEEDED (attempt 1): done\n"
            "job demo-3 SUCCEEDED after 1 attempt in 1:30\n"
            "final loss: 2.7812 (first 5.5452) at step 1000/1000 (100%)\n"
            "last checkpoint: runs/demo/checkpoints/step-1000\n"
            "export: runs/demo/export\n");
  EXPECT_THAT(err_.str(), HasSubstr("lost the coordinator at 127.0.0.1:"));
}

TEST_F(FollowServiceTest, StreamEndingBeforeTheJobIsReopened) {
  FakeJobService service(FinalJob(v1::SUCCEEDED),
                         {{{State(1, v1::RUNNING, "every rank started")}, grpc::Status::OK},
                          {{State(2, v1::SUCCEEDED, "done")}, grpc::Status::OK}});
  Serve(&service);
  FollowOptions options;
  options.job_id = "demo-3";
  EXPECT_EQ(Follow(options), kExitOk) << err_.str();
  EXPECT_THAT(service.after_seqs(), ElementsAre(0, 1));
}

TEST_F(FollowServiceTest, FailedJobExits3WithTheRootCause) {
  FakeJobService service(FinalJob(v1::FAILED, "rank 2 on node-b killed by signal 9 (SIGKILL)"),
                         {{{State(1, v1::FAILED, "rank 2 exited")}, grpc::Status::OK}});
  Serve(&service);
  FollowOptions options;
  options.job_id = "demo-3";
  options.show_ranks = true;
  EXPECT_EQ(Follow(options), kExitJobFailed);
  EXPECT_THAT(out_.str(), HasSubstr("cause: rank 2 on node-b killed by signal 9 (SIGKILL)\n"));
}

TEST_F(FollowServiceTest, WaitTimesOutWithExit1) {
  FakeJobService service(FinalJob(v1::RUNNING), {});
  Serve(&service);
  FollowOptions options;
  options.job_id = "demo-3";
  options.quiet = true;
  options.initial_state = v1::RUNNING;
  options.deadline = absl::Now() + absl::Milliseconds(300);
  Options cli;
  cli.timeout = std::chrono::milliseconds(300);
  EXPECT_EQ(Follow(options, cli), kExitError);
  EXPECT_EQ(out_.str(), "");
  EXPECT_THAT(err_.str(), HasSubstr("job demo-3 is still RUNNING after --timeout 300ms"));
}

TEST_F(FollowServiceTest, GivesUpWhenTheCoordinatorStaysAway) {
  Script broken{{}, grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")};
  FakeJobService service(FinalJob(v1::RUNNING), std::vector<Script>(100, broken));
  Serve(&service);
  FollowOptions options;
  options.job_id = "demo-3";
  options.reconnect_for = absl::Seconds(1);
  absl::Time start = absl::Now();
  EXPECT_EQ(Follow(options), kExitUnreachable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_THAT(err_.str(), HasSubstr("cannot reach the coordinator"));
  EXPECT_GE(service.after_seqs().size(), 2u);
}

}  // namespace
}  // namespace spindle::cli
