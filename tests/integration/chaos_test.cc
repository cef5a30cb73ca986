// Chaos: while a job trains on a real coordinator and two real workers,
// SIGKILL a random rank, a worker daemon (then start it again) or the
// coordinator (then start it again) at random moments, several times. The job
// must end SUCCEEDED with exported weights byte-identical to an
// uninterrupted run of the same job, and each rank or worker kill made while
// the job ran must be detected (its attempt failed) within the worker lease.
// Ranks of a killed worker die with it (common/proc/parent_watch.h); a killed
// coordinator comes back from SQLite and restarts running jobs from their
// last checkpoint, fencing the old attempt's ranks.
// Bounded: at most kKills kills and kBudget of chaos; the seed is printed.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "spindle/v1/job.grpc.pb.h"
#include "tests/integration/local_cluster.h"

namespace spindle::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace v1 = spindle::v1;

constexpr int kKills = 6;
constexpr auto kBudget = 150s;
constexpr int64_t kLeaseMs = 5000;  // LocalCluster's --worker_lease

ClusterBinaries Bins() { return {SPINDLE_COORDINATOR_BIN, SPINDLE_WORKER_BIN, SPINDLE_CLI_BIN}; }

std::string Spec(const std::string& name, const std::string& dir) {
  return absl::StrCat(R"(apiVersion: spindle/v1
kind: TrainJob
metadata: {name: )",
                      name, R"(}
spec:
  model: {preset: tiny}
  data: {source: synthetic, task: copy, seq_len: 64, global_batch_seqs: 4, micro_batch_seqs: 4}
  parallel: {dp: 1, sp: {ulysses: 2, ring: 2, layout: zigzag}}
  resources: {device: cpu, nodes: {min: 2, max: 2}, devices_per_node: 2}
  train: {max_steps: 300, log_every_steps: 1, optimizer: {lr: 3.0e-3}}
  checkpoint: {dir: )",
                      dir, R"(/ckpt, every: {steps: 4}, export: {dir: )", dir, R"(/export}}
  fault_tolerance: {max_restarts: 40, backoff: 500ms}
)");
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json Status(LocalCluster& c, const std::string& id) {
  json j = json::parse(c.Cli({"status", id, "-o", "json"}, 15s).out, nullptr, false);
  return j.is_object() && j.contains("job") ? j["job"] : j;
}

// Every stored event of a finished job, from the coordinator.
std::vector<v1::JobEvent> Events(int port, const std::string& id) {
  auto stub = v1::JobService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 30s);
  v1::WatchJobRequest request;
  request.set_job_id(id);
  auto reader = stub->WatchJob(&context, request);
  std::vector<v1::JobEvent> events;
  v1::JobEvent e;
  while (reader->Read(&e)) {
    if (e.kind() != v1::JobEvent::PROGRESS) events.push_back(e);
  }
  reader->Finish();
  return events;
}

std::string RunToEnd(LocalCluster& c, const std::string& name) {
  const std::string dir = c.dir().Join(name);
  const std::string spec = dir + ".yaml";
  std::ofstream(spec) << Spec(name, dir);
  const CliResult r = c.Cli({"submit", spec, "-d", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  json j = json::parse(r.out, nullptr, false);
  if (j.is_object() && j.contains("job")) j = j["job"];
  return j.is_object() ? j.value("id", "") : "";
}

TEST(ChaosTest, JobsSurviveKilledRanksWorkersAndCoordinatorWithIdenticalWeights) {
  LocalCluster cluster(Bins());
  ASSERT_TRUE(cluster.StartCoordinator());
  ASSERT_TRUE(cluster.StartWorkers(2, 2));

  // The uninterrupted run.
  const std::string reference = RunToEnd(cluster, "calm");
  ASSERT_FALSE(reference.empty());
  ASSERT_EQ(cluster.Cli({"wait", reference}, 300s).exit_code, 0);

  const unsigned seed = std::random_device{}();
  std::cout << "chaos seed " << seed << std::endl;
  std::mt19937 rng(seed);
  const std::string id = RunToEnd(cluster, "chaos");
  ASSERT_FALSE(id.empty());

  struct Kill {
    int64_t time_ms;
    std::string what;
  };
  std::vector<Kill> detectable;  // rank and worker kills while RUNNING
  int kills = 0;
  const auto chaos_end = std::chrono::steady_clock::now() + kBudget;
  std::string state;
  while (kills < kKills && std::chrono::steady_clock::now() < chaos_end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500 + rng() % 2500));
    const json s = Status(cluster, id);
    state = s.value("state", "");
    if (state == "SUCCEEDED" || state == "FAILED" || state == "CANCELLED") break;
    const bool running = state == "RUNNING";
    switch (rng() % 3) {
      case 0: {  // a rank
        const std::vector<pid_t> pids = RankPids(id);
        if (pids.empty()) break;
        const pid_t victim = pids[rng() % pids.size()];
        const int64_t t = NowMs();
        if (::kill(victim, SIGKILL) == 0) {
          ++kills;
          std::cout << "killed rank pid " << victim << " (" << state << ")" << std::endl;
          if (running) detectable.push_back({t, absl::StrCat("rank pid ", victim)});
        }
        break;
      }
      case 1: {  // a worker daemon, then a new one in its place
        const int w = static_cast<int>(rng() % cluster.num_workers());
        const int64_t t = NowMs();
        cluster.KillWorker(w);
        ++kills;
        std::cout << "killed worker w" << w << " (" << state << ")" << std::endl;
        if (running) detectable.push_back({t, absl::StrCat("worker w", w)});
        std::this_thread::sleep_for(1s);
        ASSERT_TRUE(cluster.RestartWorker(w));
        break;
      }
      case 2: {  // the coordinator, then again on the same port and state
        cluster.KillCoordinator();
        ++kills;
        std::cout << "killed the coordinator (" << state << ")" << std::endl;
        std::this_thread::sleep_for(500ms);
        ASSERT_TRUE(cluster.StartCoordinator());
        break;
      }
    }
  }
  std::cout << kills << " kills" << std::endl;
  EXPECT_GE(kills, 1) << "the job ended before any chaos; lengthen it";

  const CliResult waited = cluster.Cli({"wait", id}, 300s);
  ASSERT_EQ(waited.exit_code, 0) << waited.out << waited.err << Status(cluster, id).dump(2);
  EXPECT_EQ(Slurp(cluster.dir().Join("chaos/export/model.safetensors")),
            Slurp(cluster.dir().Join("calm/export/model.safetensors")))
      << "the weights after chaos differ from the uninterrupted run's";
  EXPECT_FALSE(Slurp(cluster.dir().Join("calm/export/model.safetensors")).empty());

  // Every failure was the infrastructure's (a user error would have ended the
  // job), each named in the job's failure list.
  const json final_status = Status(cluster, id);
  ASSERT_TRUE(final_status.contains("failures")) << final_status.dump(2);
  for (const json& f : final_status["failures"]) {
    EXPECT_EQ(f.value("kind", ""), "INFRASTRUCTURE") << f.dump();
    EXPECT_FALSE(f.value("cause", "").empty()) << f.dump();
  }

  // Each kill made while RUNNING ended its attempt within the lease.
  const std::vector<v1::JobEvent> events = Events(cluster.port(), id);
  for (const Kill& k : detectable) {
    int64_t detected = -1;
    for (const v1::JobEvent& e : events) {
      // SUCCEEDED counts too: a kill during the last step's exit can miss.
      if (e.time_ms() >= k.time_ms && e.kind() == v1::JobEvent::STATE &&
          (e.state() == v1::RESTARTING || e.state() == v1::FAILED ||
           e.state() == v1::SUCCEEDED)) {
        detected = e.time_ms();
        break;
      }
    }
    std::string timeline;
    for (const v1::JobEvent& e : events) {
      absl::StrAppend(&timeline, e.time_ms() - k.time_ms, " ms: ", v1::JobState_Name(e.state()),
                      " ", e.message(), "\n");
    }
    ASSERT_GE(detected, 0) << k.what << ": no failed attempt after the kill; events:\n"
                           << timeline;
    EXPECT_LE(detected - k.time_ms, kLeaseMs + 2000) << k.what << " detected late";
  }
}

}  // namespace
}  // namespace spindle::testing
