// End to end on localhost: a real coordinator and two real workers with two
// CPU slots each run jobs pushed through the `spindle` CLI. Checks the plan,
// that the service trains exactly what the local runner trains, cancel,
// preemption, FIFO turns, user errors failing at once with their root cause,
// and a coordinator restart.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "nlohmann/json.hpp"
#include "tests/integration/local_cluster.h"

namespace spindle::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

ClusterBinaries Bins() { return {SPINDLE_COORDINATOR_BIN, SPINDLE_WORKER_BIN, SPINDLE_CLI_BIN}; }

// The demo's shape at test size: SP 4 = Ulysses 2 × ring 2 over 2 nodes × 2.
std::string Spec(const std::string& name, int steps, const std::string& dir,
                 const std::string& extra = "") {
  return absl::StrCat(R"(apiVersion: spindle/v1
kind: TrainJob
metadata:
  name: )",
                      name, R"(
spec:
  model: {preset: tiny}
  data: {source: synthetic, task: copy, seq_len: 64, global_batch_seqs: 4, micro_batch_seqs: 4}
  parallel: {dp: 1, sp: {ulysses: 2, ring: 2, layout: zigzag}}
  resources: {device: cpu, nodes: {min: 2, max: 2}, devices_per_node: 2}
  train: {max_steps: )",
                      steps, R"(, log_every_steps: 5, optimizer: {lr: 3.0e-3}}
  checkpoint: {dir: )",
                      dir, R"(/ckpt, every: {steps: 10}, export: {dir: )", dir, R"(/export}}
)",
                      extra);
}

std::string Write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

// Protobuf JSON writes int64 fields as strings.
int64_t Int(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return 0;
  const json& v = j[key];
  return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>();
}

json Parse(const CliResult& r) {
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("job")) return j["job"];
  return j;
}

std::string Submit(LocalCluster& c, const std::string& spec_path) {
  const CliResult r = c.Cli({"submit", spec_path, "-d", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const json j = Parse(r);
  return j.is_object() ? j.value("id", "") : "";
}

json Status(LocalCluster& c, const std::string& id) {
  return Parse(c.Cli({"status", id, "-o", "json"}));
}

// Polls until pred(status) or the timeout; returns the last status.
template <typename Pred>
json WaitFor(LocalCluster& c, const std::string& id, Pred pred, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  json s;
  while (std::chrono::steady_clock::now() < deadline) {
    s = Status(c, id);
    if (s.is_object() && pred(s)) return s;
    std::this_thread::sleep_for(200ms);
  }
  return s;
}

std::vector<double> Losses(const std::string& jsonl) {
  std::ifstream in(jsonl);
  std::vector<double> out;
  for (std::string line; std::getline(in, line);) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("loss")) out.push_back(j["loss"].get<double>());
  }
  return out;
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.StartCoordinator());
    ASSERT_TRUE(cluster_.StartWorkers(2, 2));
  }
  std::string Dir(const std::string& name) { return cluster_.dir().Join(name); }
  LocalCluster cluster_{Bins()};
};

TEST_F(ServiceTest, PlansAndTrainsExactlyLikeTheLocalRunner) {
  const std::string spec = Write(Dir("job.yaml"), Spec("same", 20, Dir("svc")));
  const std::string id = Submit(cluster_, spec);
  ASSERT_FALSE(id.empty());
  const CliResult waited = cluster_.Cli({"wait", id}, 300s);
  ASSERT_EQ(waited.exit_code, 0) << waited.out << waited.err;

  const json job = Status(cluster_, id);
  ASSERT_EQ(job.value("state", ""), "SUCCEEDED") << job.dump(2);
  const json& chosen = job["plan"]["chosen"];
  EXPECT_EQ(chosen.value("dp", 0), 1);
  EXPECT_EQ(chosen.value("ulysses", 0), 2);
  EXPECT_EQ(chosen.value("ring", 0), 2);
  const json& ranks = job["plan"]["ranks"];
  ASSERT_EQ(ranks.size(), 4u);
  // Each Ulysses pair on one worker, the ring across the two.
  EXPECT_EQ(ranks[0]["worker"], ranks[1]["worker"]);
  EXPECT_EQ(ranks[2]["worker"], ranks[3]["worker"]);
  EXPECT_NE(ranks[0]["worker"], ranks[2]["worker"]);
  EXPECT_EQ(job.value("export_dir", ""), Dir("svc") + "/export");
  EXPECT_TRUE(std::ifstream(Dir("svc") + "/export/model.safetensors").good());

  const std::string worker0 = ranks[0]["worker"].get<std::string>();
  const std::string metrics =
      cluster_.WorkerDir(worker0 == "w0" ? 0 : 1) + "/" + id + "/attempt-1/metrics.jsonl";
  const std::vector<double> service = Losses(metrics);
  ASSERT_EQ(service.size(), 20u) << metrics;

  // The same job through the local runner (no daemons).
  CliResult local;
  {
    proc::SpawnOptions o;
    o.program = SPINDLE_TRAINER_BIN;
    o.args = {Write(Dir("local.yaml"), Spec("same", 20, Dir("local"))), "--local-ranks", "4",
              "--metrics", Dir("local.jsonl")};
    o.stdout_path = Dir("local.log");
    o.stderr_to_stdout = true;
    std::vector<proc::Subprocess> one;
    one.push_back(*proc::Subprocess::Spawn(o));
    auto s = proc::WaitAll(one, 300s, false);
    ASSERT_TRUE(s.ok() && (*s)[0].ok());
  }
  const std::vector<double> runner = Losses(Dir("local.jsonl"));
  ASSERT_EQ(runner.size(), service.size());
  for (size_t i = 0; i < runner.size(); ++i) {
    EXPECT_NEAR(service[i], runner[i], 1e-5 * std::abs(runner[i])) << "step " << i + 1;
  }

  const CliResult logs = cluster_.Cli({"logs", id, "--rank", "0"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find("step 20/20"), std::string::npos) << logs.out;
}

// Cancelled ranks first commit a checkpoint at the step they are on (the
// schedule alone, every 10 steps, would leave the newest one behind it).
TEST_F(ServiceTest, CancelCheckpointsThenStopsEveryRankAndWaitSaysCancelled) {
  const std::string id = Submit(cluster_, Write(Dir("long.yaml"), Spec("long", 100000, Dir("l"))));
  const json running = WaitFor(
      cluster_, id,
      [](const json& s) { return s.contains("progress") && Int(s["progress"], "step") > 0; }, 120s);
  ASSERT_EQ(running.value("state", ""), "RUNNING") << running.dump(2);
  const int64_t step_at_cancel = Int(running["progress"], "step");
  const CliResult cancel = cluster_.Cli({"cancel", id, "--reason", "test"});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.out << cancel.err;
  EXPECT_EQ(cluster_.Cli({"wait", id}, 60s).exit_code, 4);
  // Devices come back once the workers confirm every rank exited.
  bool free = false;
  for (int i = 0; i < 100 && !free; ++i) {
    const json w = Parse(cluster_.Cli({"workers", "-o", "json"}));
    free = w.is_object() && w.contains("workers") && w["workers"].size() == 2;
    for (const json& worker : free ? w["workers"] : json::array()) {
      free = free && (!worker.contains("busy") || worker["busy"].empty());
    }
    if (!free) std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(free);

  int64_t newest = -1;
  for (const auto& entry : std::filesystem::directory_iterator(Dir("l/ckpt"))) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("step-", 0) == 0 && std::filesystem::exists(entry.path() / "MANIFEST.json")) {
      newest = std::max<int64_t>(newest, std::stoll(name.substr(5)));
    }
  }
  EXPECT_GE(newest, step_at_cancel);
  // The worker relays the stopped rank's last progress: the job names it.
  const std::string committed = absl::StrFormat("%s/step-%08d", Dir("l/ckpt"), newest);
  const json ended = WaitFor(
      cluster_, id, [&](const json& s) { return s.value("last_checkpoint", "") == committed; },
      30s);
  EXPECT_EQ(ended.value("last_checkpoint", ""), committed) << ended.dump(2);
  EXPECT_EQ(ended.value("state", ""), "CANCELLED");
}

// SIGTERM to one rank from outside (its node drained, a preemption): every
// rank stops at one step with a checkpoint, and the job restarts from it
// without using up a restart (it has none) and succeeds.
TEST_F(ServiceTest, APreemptedJobResumesWhereItStoppedWithoutUsingARestart) {
  const std::string id = Submit(
      cluster_,
      Write(Dir("pre.yaml"),
            Spec("pre", 300, Dir("p"), "  fault_tolerance: {max_restarts: 0, backoff: 200ms}\n")));
  const json running = WaitFor(
      cluster_, id,
      [](const json& s) { return s.contains("progress") && Int(s["progress"], "step") >= 3; },
      120s);
  ASSERT_EQ(running.value("state", ""), "RUNNING") << running.dump(2);
  const std::vector<pid_t> pids = RankPids(id);
  ASSERT_EQ(pids.size(), 4u);
  ASSERT_EQ(::kill(pids[0], SIGTERM), 0);

  const CliResult waited = cluster_.Cli({"wait", id}, 300s);
  const json done = Status(cluster_, id);
  ASSERT_EQ(waited.exit_code, 0) << waited.out << waited.err << done.dump(2);
  EXPECT_EQ(Int(done, "attempt"), 2) << done.dump(2);
  EXPECT_EQ(Int(done, "max_attempts"), 2) << done.dump(2);
  ASSERT_TRUE(done.contains("failures") && done["failures"].size() == 1) << done.dump(2);
  EXPECT_EQ(done["failures"][0].value("kind", ""), "PREEMPTED") << done.dump(2);

  const std::string first = cluster_.Cli({"logs", id, "--rank", "0", "--attempt", "1"}).out;
  const size_t at = first.find("stopped at step ");
  ASSERT_NE(at, std::string::npos) << first;
  const std::string stopped = first.substr(at + 16, first.find(' ', at + 16) - (at + 16));
  const std::string second = cluster_.Cli({"logs", id, "--rank", "0", "--attempt", "2"}).out;
  EXPECT_NE(second.find("resumed at step " + stopped), std::string::npos) << second;
}

// A worker shut down gracefully (its node drained) while a job runs only on
// it: its ranks commit a checkpoint and exit, its last heartbeat reports
// that, and the job resumes on the other worker without using a restart.
TEST_F(ServiceTest, ShuttingDownAWorkerPreemptsItsJobWhichResumesElsewhere) {
  const std::string spec = absl::StrReplaceAll(
      Spec("drain", 300, Dir("d"), "  fault_tolerance: {max_restarts: 0, backoff: 200ms}\n"),
      {{"ulysses: 2, ring: 2", "ulysses: 1, ring: 2"},
       {"nodes: {min: 2, max: 2}", "nodes: {min: 1, max: 1}"}});
  const std::string id = Submit(cluster_, Write(Dir("drain.yaml"), spec));
  const json running = WaitFor(
      cluster_, id,
      [](const json& s) { return s.contains("progress") && Int(s["progress"], "step") >= 3; },
      120s);
  ASSERT_EQ(running.value("state", ""), "RUNNING") << running.dump(2);
  const std::string worker = running["plan"]["ranks"][0]["worker"].get<std::string>();
  ASSERT_TRUE(worker == "w0" || worker == "w1") << worker;
  const proc::ExitStatus stopped = cluster_.StopWorker(worker == "w0" ? 0 : 1);
  EXPECT_TRUE(stopped.ok()) << stopped.Describe();

  const CliResult waited = cluster_.Cli({"wait", id}, 300s);
  const json done = Status(cluster_, id);
  ASSERT_EQ(waited.exit_code, 0) << waited.out << waited.err << done.dump(2);
  EXPECT_EQ(Int(done, "attempt"), 2) << done.dump(2);
  ASSERT_TRUE(done.contains("failures") && done["failures"].size() == 1) << done.dump(2);
  EXPECT_EQ(done["failures"][0].value("kind", ""), "PREEMPTED") << done.dump(2);
  EXPECT_NE(done["plan"]["ranks"][0]["worker"].get<std::string>(), worker);
  const std::string second = cluster_.Cli({"logs", id, "--rank", "0", "--attempt", "2"}).out;
  EXPECT_NE(second.find("resumed at step "), std::string::npos) << second;
}

TEST_F(ServiceTest, TwoJobsForTheSameSlotsRunInTurn) {
  const std::string a = Submit(cluster_, Write(Dir("a.yaml"), Spec("a", 15, Dir("a"))));
  const std::string b = Submit(cluster_, Write(Dir("b.yaml"), Spec("b", 15, Dir("b"))));
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(cluster_.Cli({"wait", a}, 300s).exit_code, 0);
  EXPECT_EQ(cluster_.Cli({"wait", b}, 300s).exit_code, 0);
  const json ja = Status(cluster_, a), jb = Status(cluster_, b);
  EXPECT_GE(Int(jb, "start_time_ms"), Int(ja, "end_time_ms")) << ja.dump(2) << jb.dump(2);
}

// A rank that exits 2 (bad spec or data) is a user error: the job fails at
// once, without burning restarts, with the rank, worker and log as its cause.
TEST_F(ServiceTest, UserErrorFailsAtOnceWithTheRankAsRootCause) {
  const std::string spec =
      absl::StrCat(R"(apiVersion: spindle/v1
kind: TrainJob
metadata: {name: broken}
spec:
  model: {preset: tiny}
  data: {source: tokens, path: )",
                   Dir("missing.bin"), R"(, seq_len: 64, global_batch_seqs: 4, micro_batch_seqs: 4}
  parallel: {dp: 1, sp: {ulysses: 2, ring: 2}}
  resources: {device: cpu, nodes: {min: 2, max: 2}, devices_per_node: 2}
  train: {max_steps: 5}
  fault_tolerance: {max_restarts: 3, backoff: 1s}
)");
  const std::string id = Submit(cluster_, Write(Dir("broken.yaml"), spec));
  EXPECT_EQ(cluster_.Cli({"wait", id}, 120s).exit_code, 3);
  const json job = Status(cluster_, id);
  EXPECT_EQ(job.value("state", ""), "FAILED");
  EXPECT_EQ(job.value("attempt", 0), 1) << "a user error must not be restarted";
  const std::string message = job.value("message", "");
  EXPECT_NE(message.find("exited with code 2"), std::string::npos) << message;
  EXPECT_NE(message.find("missing.bin"), std::string::npos) << message;
  EXPECT_NE(message.find("user error"), std::string::npos) << message;
  ASSERT_TRUE(job.contains("failures")) << job.dump(2);
  ASSERT_EQ(job["failures"].size(), 1u);
  const json& f = job["failures"][0];
  EXPECT_EQ(f.value("kind", ""), "USER");
  EXPECT_EQ(f.value("attempt", 0), 1);
  EXPECT_GE(f.value("rank", -1), 0);
  EXPECT_NE(f.value("worker", ""), "");
  EXPECT_EQ(f.value("exit_code", 0), 2);
  const CliResult status = cluster_.Cli({"status", id});
  EXPECT_NE(status.out.find("user error"), std::string::npos) << status.out;
  // The timeline: submitted, planned, running, failed, and nothing after.
  const CliResult events = cluster_.Cli({"events", id});
  EXPECT_EQ(events.exit_code, 0) << events.err;
  for (const char* state : {"QUEUED", "PLANNING", "RUNNING", "FAILED"}) {
    EXPECT_NE(events.out.find(state), std::string::npos) << state << "\n" << events.out;
  }
  EXPECT_EQ(events.out.find("RESTARTING"), std::string::npos) << events.out;
}

// A rank that stops (SIGSTOP: alive, silent) hangs the job: after
// fault_tolerance.hang_timeout the attempt fails as a HANG naming that rank,
// from the signs of life the ranks write and the workers relay.
TEST_F(ServiceTest, AHangNamesTheRankBehindIt) {
  const std::string dir = Dir("hang");
  const std::string id = Submit(
      cluster_, Write(Dir("hang.yaml"), Spec("hang", 100000, dir,
                                             "  fault_tolerance: {max_restarts: 0, hang_timeout: "
                                             "10s, collective_timeout: 5m}\n")));
  const json running = WaitFor(
      cluster_, id,
      [](const json& s) { return s.contains("progress") && Int(s["progress"], "step") > 3; }, 120s);
  ASSERT_EQ(running.value("state", ""), "RUNNING") << running.dump(2);
  // Rank 3's process: its command line holds "--rank 3" and the job id.
  pid_t victim = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find("spindle-trainer") != std::string::npos &&
        cmd.find("/" + id + "/attempt-") != std::string::npos &&
        cmd.find("--rank 3 ") != std::string::npos) {
      victim = static_cast<pid_t>(std::stol(entry.path().filename().string()));
    }
  }
  ASSERT_GT(victim, 0) << "rank 3 not found";
  ASSERT_EQ(::kill(victim, SIGSTOP), 0);
  EXPECT_EQ(cluster_.Cli({"wait", id}, 120s).exit_code, 3);
  ::kill(victim, SIGKILL);  // whatever the worker's stop did not reach
  const json job = Status(cluster_, id);
  ASSERT_TRUE(job.contains("failures")) << job.dump(2);
  const json& f = job["failures"][0];
  EXPECT_EQ(f.value("kind", ""), "HANG") << f.dump(2);
  EXPECT_EQ(f.value("rank", -1), 3) << f.dump(2);
  EXPECT_NE(f.value("cause", "").find("rank 3 on worker"), std::string::npos) << f.dump(2);
  EXPECT_NE(f.value("cause", "").find("no sign of life"), std::string::npos) << f.dump(2);
}

TEST_F(ServiceTest, InfeasibleJobIsRefusedBeforeQueueing) {
  const std::string spec = Write(Dir("big.yaml"), Spec("big", 5, Dir("big")));
  const CliResult r = cluster_.Cli(
      {"submit", spec, "-d", "--set", "resources.nodes.min=3", "--set", "resources.nodes.max=3"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("nodes"), std::string::npos) << r.err;
  EXPECT_EQ(cluster_.Cli({"list", "-o", "json"}).out.find("big-"), std::string::npos);
}

TEST_F(ServiceTest, CoordinatorRestartKeepsEveryJob) {
  const std::string done = Submit(cluster_, Write(Dir("d.yaml"), Spec("done", 10, Dir("d"))));
  ASSERT_EQ(cluster_.Cli({"wait", done}, 300s).exit_code, 0);
  const std::string live = Submit(cluster_, Write(Dir("r.yaml"), Spec("live", 100000, Dir("r"))));
  WaitFor(
      cluster_, live, [](const json& s) { return s.value("state", "") == "RUNNING"; }, 120s);

  const proc::ExitStatus stopped = cluster_.StopCoordinator();
  EXPECT_TRUE(stopped.ok()) << stopped.Describe();
  ASSERT_TRUE(cluster_.StartCoordinator());

  const json list = Parse(cluster_.Cli({"list", "-o", "json"}));
  const std::string text = list.dump();
  EXPECT_NE(text.find(done), std::string::npos) << text;
  EXPECT_NE(text.find(live), std::string::npos) << text;
  EXPECT_EQ(Status(cluster_, done).value("state", ""), "SUCCEEDED");
  // The interrupted job is placed again once the workers re-register.
  const json again = WaitFor(
      cluster_, live,
      [](const json& s) { return s.value("state", "") == "RUNNING" && s.value("attempt", 0) == 2; },
      120s);
  EXPECT_EQ(again.value("attempt", 0), 2) << again.dump(2);
  EXPECT_EQ(cluster_.Cli({"cancel", live}).exit_code, 0);
  EXPECT_EQ(cluster_.Cli({"wait", live}, 60s).exit_code, 4);
}

}  // namespace
}  // namespace spindle::testing
