#include "coordinator/cli/render.h"

#include <string>

#include "common/config/load.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace spindle::cli {
namespace {

namespace v1 = spindle::v1;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kNoonMs = 1700000000000;  // 2023-11-14 22:13:20 UTC

v1::Progress Progress(int64_t step, int64_t total) {
  v1::Progress p;
  p.set_step(step);
  p.set_total_steps(total);
  p.set_loss(3.12341);
  p.set_first_loss(5.5452);
  p.set_tokens_per_second(1234);
  p.set_mfu(0.031);
  p.set_eta_seconds(45);
  return p;
}

v1::Job RunningJob() {
  v1::Job job;
  job.set_id("demo-3");
  job.set_name("demo");
  job.set_state(v1::RUNNING);
  job.set_attempt(2);
  job.set_max_restarts(3);
  job.set_user("ada");
  job.set_create_time_ms(kNoonMs);
  job.set_start_time_ms(kNoonMs + 1000);
  *job.mutable_progress() = Progress(250, 1000);
  v1::Plan* plan = job.mutable_plan();
  plan->set_world_size(4);
  plan->set_layout("zigzag");
  plan->mutable_chosen()->set_dp(1);
  plan->mutable_chosen()->set_ulysses(2);
  plan->mutable_chosen()->set_ring(2);
  plan->mutable_chosen()->set_nodes(2);
  plan->mutable_chosen()->set_devices_per_node(2);
  for (int r = 0; r < 4; ++r) {
    v1::RankAssignment* a = plan->add_ranks();
    a->set_rank(r);
    a->set_worker(r < 2 ? "node-a" : "node-b");
    a->set_ulysses(r % 2);
    a->set_ring(r / 2);
    v1::RankSummary* s = job.add_ranks();
    s->set_rank(r);
    s->set_worker(a->worker());
    s->set_device(r % 2);
    s->set_phase("running");
  }
  job.set_last_checkpoint("runs/demo/checkpoints/step-250");
  job.set_export_dir("runs/demo/export");
  return job;
}

TEST(RenderTest, FormatEta) {
  EXPECT_EQ(FormatEta(0), "0:00");
  EXPECT_EQ(FormatEta(45), "0:45");
  EXPECT_EQ(FormatEta(44.6), "0:45");
  EXPECT_EQ(FormatEta(723), "12:03");
  EXPECT_EQ(FormatEta(3723), "1:02:03");
  EXPECT_EQ(FormatEta(100 * 3600), "100:00:00");
  EXPECT_EQ(FormatEta(-1), "--:--");
  EXPECT_EQ(FormatEta(std::numeric_limits<double>::infinity()), "--:--");
}

TEST(RenderTest, FormatNumbers) {
  EXPECT_EQ(FormatCount(950), "950");
  EXPECT_EQ(FormatCount(1234), "1.2k");
  EXPECT_EQ(FormatCount(5.6e6), "5.6M");
  EXPECT_EQ(FormatCount(125248), "125.2k");
  EXPECT_EQ(FormatCount(2.5e9), "2.5G");
  EXPECT_EQ(FormatPercent(0.031), "3.1%");
  EXPECT_EQ(FormatBytes(900), "900 B");
  EXPECT_EQ(FormatBytes(int64_t{3} << 29), "1.5 GiB");
}

TEST(RenderTest, ProgressBar) {
  EXPECT_EQ(ProgressLine(Progress(250, 1000)),
            "[####............] step 250/1000  loss 3.1234  1.2k tok/s  MFU 3.1%  ETA 0:45");
  EXPECT_EQ(ProgressLine(Progress(1000, 1000), 10),
            "[##########] step 1000/1000  loss 3.1234  1.2k tok/s  MFU 3.1%");
  v1::Progress starting;
  starting.set_total_steps(1000);
  EXPECT_EQ(ProgressLine(starting, 4), "[....] step 0/1000");
  v1::Progress no_total;
  no_total.set_step(7);
  no_total.set_loss(2.5);
  EXPECT_EQ(ProgressLine(no_total), "step 7  loss 2.5000");
}

TEST(RenderTest, EventLines) {
  v1::JobEvent e;
  e.set_time_ms(kNoonMs + 4000);
  e.set_kind(v1::JobEvent::STATE);
  e.set_state(v1::RUNNING);
  e.set_attempt(1);
  e.set_message("every rank started");
  EXPECT_EQ(EventLine(e, "demo-3", absl::UTCTimeZone()),
            "22:13:24 job demo-3 RUNNING (attempt 1): every rank started");
  e.set_kind(v1::JobEvent::INFO);
  e.set_message("checkpoint step-250 committed");
  EXPECT_EQ(EventLine(e, "demo-3", absl::UTCTimeZone()),
            "22:13:24 job demo-3 (attempt 1): checkpoint step-250 committed");
  e.set_kind(v1::JobEvent::STATE);
  e.set_state(v1::QUEUED);
  e.set_attempt(0);
  e.clear_message();
  EXPECT_EQ(EventLine(e, "demo-3", absl::UTCTimeZone()), "22:13:24 job demo-3 QUEUED");
}

TEST(RenderTest, StatusHasEveryField) {
  v1::Job job = RunningJob();
  job.set_message("restarted after rank 3 exited with code 1");
  std::string text =
      StatusText(job, absl::UTCTimeZone(), absl::FromUnixMillis(kNoonMs + 1000 + 62000));
  EXPECT_THAT(text, HasSubstr("job:        demo-3 (demo)\n"));
  EXPECT_THAT(text, HasSubstr("state:      RUNNING\n"));
  EXPECT_THAT(text, HasSubstr("attempt:    2/4\n"));
  EXPECT_THAT(text, HasSubstr("user:       ada\n"));
  EXPECT_THAT(text, HasSubstr("created:    2023-11-14 22:13:20\n"));
  EXPECT_THAT(text, HasSubstr("elapsed:    1:02\n"));
  EXPECT_THAT(text, HasSubstr("step:       250/1000 (25%)\n"));
  EXPECT_THAT(text, HasSubstr("loss:       3.1234 (first 5.5452)\n"));
  EXPECT_THAT(text, HasSubstr("tokens/s:   1.2k\n"));
  EXPECT_THAT(text, HasSubstr("MFU:        3.1%\n"));
  EXPECT_THAT(text, HasSubstr("ETA:        0:45\n"));
  EXPECT_THAT(text,
              HasSubstr("plan:       dp 1 × U 2 × R 2, world 4, zigzag, 2 nodes × 2 devices\n"));
  EXPECT_THAT(text, HasSubstr("workers:    node-a, node-b\n"));
  EXPECT_THAT(text, HasSubstr("checkpoint: runs/demo/checkpoints/step-250\n"));
  EXPECT_THAT(text, HasSubstr("export:     runs/demo/export\n"));
  EXPECT_THAT(text, HasSubstr("message:    restarted after rank 3 exited with code 1\n"));
}

TEST(RenderTest, StatusOfAQueuedJob) {
  v1::Job job;
  job.set_id("demo-4");
  job.set_name("demo");
  job.set_state(v1::QUEUED);
  job.set_max_restarts(3);
  std::string text = StatusText(job, absl::UTCTimeZone(), absl::UnixEpoch());
  EXPECT_THAT(text, HasSubstr("attempt:    0/4\n"));
  EXPECT_THAT(text, HasSubstr("plan:       -\n"));
  EXPECT_THAT(text, HasSubstr("checkpoint: -\n"));
  EXPECT_THAT(text, Not(HasSubstr("loss:")));
  EXPECT_THAT(text, Not(HasSubstr("ETA:")));
  // A multi-line message stays in the value column.
  job.set_message("waiting for devices: no feasible plan\nnearest change: needs 2 more nodes");
  EXPECT_THAT(StatusText(job, absl::UTCTimeZone(), absl::UnixEpoch()),
              HasSubstr("message:    waiting for devices: no feasible plan\n"
                        "            nearest change: needs 2 more nodes\n"));
}

// A preemption gives its attempt back: the budget grows past 1 + max_restarts.
TEST(RenderTest, PreemptionsExtendTheAttemptBudget) {
  v1::Job job;
  job.set_id("demo-5");
  job.set_state(v1::RUNNING);
  job.set_attempt(3);
  job.set_max_restarts(1);
  EXPECT_THAT(StatusText(job, absl::UTCTimeZone(), absl::UnixEpoch()),
              HasSubstr("attempt:    3/2\n"));  // a job stored before max_attempts
  job.set_max_attempts(3);
  v1::Failure* f = job.add_failures();
  f->set_attempt(2);
  f->set_kind(v1::PREEMPTED);
  f->set_cause("rank 0 on worker w0 (device 0) stopped on a signal after committing a checkpoint");
  const std::string text = StatusText(job, absl::UTCTimeZone(), absl::UnixEpoch());
  EXPECT_THAT(text, HasSubstr("attempt:    3/3\n"));
  EXPECT_THAT(text, HasSubstr("(preempted): rank 0 on worker w0"));
}

TEST(RenderTest, Tables) {
  v1::ListJobsResponse jobs;
  EXPECT_EQ(JobListText(jobs, absl::UTCTimeZone()), "no jobs\n");
  *jobs.add_jobs() = RunningJob();
  EXPECT_EQ(JobListText(jobs, absl::UTCTimeZone()),
            "ID      NAME  STATE    ATTEMPT  STEP      LOSS    USER  CREATED\n"
            "demo-3  demo  RUNNING  2/4      250/1000  3.1234  ada   2023-11-14 22:13:20\n");

  std::string ranks = RanksText(RunningJob());
  EXPECT_THAT(ranks, HasSubstr("RANK  WORKER  DEVICE  DP  RING  ULYSSES  PHASE    EXIT\n"));
  EXPECT_THAT(ranks, HasSubstr("3     node-b  1       0   1     1        running  -\n"));
  EXPECT_EQ(RanksText(v1::Job()), "");

  v1::ListWorkersResponse workers;
  EXPECT_EQ(WorkersText(workers, absl::UnixEpoch()), "no workers registered\n");
  v1::WorkerInfo* w = workers.add_workers();
  w->set_worker_id("node-a");
  w->set_host("10.0.0.1");
  w->set_state("alive");
  w->set_last_heartbeat_ms(kNoonMs);
  for (int i = 0; i < 2; ++i) {
    v1::Device* d = w->add_devices();
    d->set_kind("cpu");
    d->set_index(i);
  }
  w->add_busy("demo-3/2/0@0");
  EXPECT_EQ(WorkersText(workers, absl::FromUnixMillis(kNoonMs + 3000)),
            "WORKER  HOST      STATE  DEVICES  HEARTBEAT  RUNNING\n"
            "node-a  10.0.0.1  alive  2× cpu   3s ago     demo-3/2/0@0\n");
}

TEST(RenderTest, FinalText) {
  v1::Job job = RunningJob();
  job.set_state(v1::SUCCEEDED);
  job.set_end_time_ms(job.start_time_ms() + 75000);
  job.mutable_progress()->set_step(1000);
  EXPECT_EQ(FinalText(job),
            "job demo-3 SUCCEEDED after 2 attempts in 1:15\n"
            "final loss: 3.1234 (first 5.5452) at step 1000/1000 (100%)\n"
            "last checkpoint: runs/demo/checkpoints/step-250\n"
            "export: runs/demo/export\n");
  job.set_state(v1::FAILED);
  job.set_message("rank 2 on node-b killed by signal 9 (SIGKILL)");
  EXPECT_THAT(FinalText(job), HasSubstr("cause: rank 2 on node-b killed by signal 9"));
  EXPECT_THAT(SubmitFooter("demo-3"), HasSubstr("spindle logs demo-3 -f"));

  v1::Job queued;
  queued.set_id("demo-4");
  queued.set_state(v1::CANCELLED);
  queued.set_message("cancelled: by ada");
  EXPECT_EQ(FinalText(queued),
            "job demo-4 CANCELLED before it started\nreason: cancelled: by ada\n");
}

TEST(RenderTest, JsonHasProtoFieldNames) {
  absl::StatusOr<std::string> json = MessageJson(RunningJob());
  ASSERT_TRUE(json.ok()) << json.status();
  nlohmann::json j = nlohmann::json::parse(*json);
  EXPECT_EQ(j["id"], "demo-3");
  EXPECT_EQ(j["state"], "RUNNING");
  EXPECT_EQ(j["max_restarts"], 3);
  EXPECT_EQ(j["last_checkpoint"], "runs/demo/checkpoints/step-250");
  EXPECT_EQ(j["progress"]["total_steps"], "1000");  // int64 is a string in protobuf JSON
  EXPECT_EQ(j["plan"]["chosen"]["ulysses"], 2);
  EXPECT_EQ(j["ranks"].size(), 4u);
  EXPECT_TRUE(j.contains("end_time_ms"));  // zero values are printed too
}

TEST(RenderTest, ValidSummary) {
  absl::StatusOr<config::JobSpec> spec =
      config::LoadJobSpecFile(std::string(SPINDLE_CONFIG_EXAMPLES_DIR) + "/demo.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  std::string line = ValidSummary("demo.yaml", *spec);
  EXPECT_THAT(line, HasSubstr("demo.yaml: valid (job demo: llama tiny, "));
  EXPECT_THAT(line, HasSubstr("seq 128, 8 seqs/step, 1000 steps, cpu 2 nodes × 2 devices, dp 1 × "
                              "ulysses 2 × ring 2 zigzag)"));
}

}  // namespace
}  // namespace spindle::cli
