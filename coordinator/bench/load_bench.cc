// spindle-load-bench: one real spindle-coordinator under the load of a large
// cluster — N simulated workers registering and heartbeating every second on
// their bidirectional streams, M clients holding WatchJob streams on queued
// jobs — while a probe measures unary GetJob latency. The same probe runs
// first with no load: the report gives loaded/idle ratios, heartbeat
// round-trip percentiles, errors, the coordinator's CPU, RSS and threads.
//
//   spindle-load-bench [--workers 2000] [--watchers 500] [--seconds 30]
//                      [--out docs/perf/coordinator-load.md]
//
// Streams use gRPC's callback API, so the simulator needs few threads.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/proc/subprocess.h"
#include "spindle/v1/job.grpc.pb.h"
#include "spindle/v1/worker.grpc.pb.h"

namespace spindle::bench {
namespace {

namespace v1 = spindle::v1;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Samples {
  std::mutex mu;
  std::vector<double> ms;
  void Add(double v) {
    std::lock_guard<std::mutex> lock(mu);
    ms.push_back(v);
  }
  double Percentile(double p) {
    std::lock_guard<std::mutex> lock(mu);
    if (ms.empty()) return 0;
    std::vector<double> s = ms;
    std::sort(s.begin(), s.end());
    return s[std::min(s.size() - 1, static_cast<size_t>(p * static_cast<double>(s.size())))];
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return ms.size();
  }
};

std::atomic<int64_t> g_errors{0}, g_reregister{0}, g_events{0};

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Ends a callback stream from the driver and waits for its OnDone; errors
// after a requested stop do not count.
class StopGate {
 public:
  void Done(const grpc::Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!s.ok() && !stopping_) ++g_errors;
    done_ = true;
    cv_.notify_all();
  }
  void Stop(grpc::ClientContext* context) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    context->TryCancel();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_; });
  }
  bool stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false, stopping_ = false;
};

class HeartbeatStream final
    : public grpc::ClientBidiReactor<v1::WorkerHeartbeat, v1::HeartbeatReply> {
 public:
  HeartbeatStream(v1::WorkerRegistry::Stub* stub, std::string id, std::string session,
                  Samples* rtt)
      : id_(std::move(id)), rtt_(rtt) {
    hb_.set_worker_id(id_);
    hb_.set_session(std::move(session));
    stub->async()->Heartbeat(&context_, this);
    StartRead(&reply_);
    StartCall();
  }
  void Beat() {
    std::lock_guard<std::mutex> lock(mu_);
    if (writing_ || ended_) return;
    writing_ = true;
    sent_ = Clock::now();
    StartWrite(&hb_);
  }
  void OnWriteDone(bool ok) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
    }
    if (!ok && !gate_.stopping()) ++g_errors;
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    Clock::time_point sent;
    {
      std::lock_guard<std::mutex> lock(mu_);
      sent = sent_;
    }
    rtt_->Add(MsSince(sent));
    if (reply_.reregister()) ++g_reregister;
    StartRead(&reply_);
  }
  void OnDone(const grpc::Status& s) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ended_ = true;
    }
    gate_.Done(s);
  }
  void Stop() { gate_.Stop(&context_); }

 private:
  std::string id_;
  Samples* rtt_;
  grpc::ClientContext context_;
  v1::WorkerHeartbeat hb_;
  v1::HeartbeatReply reply_;
  std::mutex mu_;
  bool writing_ = false, ended_ = false;
  Clock::time_point sent_;
  StopGate gate_;
};

class WatchStream final : public grpc::ClientReadReactor<v1::JobEvent> {
 public:
  WatchStream(v1::JobService::Stub* stub, const std::string& job_id) {
    request_.set_job_id(job_id);
    stub->async()->WatchJob(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    ++g_events;
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& s) override { gate_.Done(s); }
  void Stop() { gate_.Stop(&context_); }

 private:
  grpc::ClientContext context_;
  v1::WatchJobRequest request_;
  v1::JobEvent event_;
  StopGate gate_;
};

struct ProcStats {
  double cpu_seconds = 0;  // user + system
  int64_t rss_kb = 0;
  int threads = 0;
};

ProcStats Sample(pid_t pid) {
  ProcStats s;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the ")" of the command: state is 3, utime 14, stime 15.
  const std::vector<std::string> f = absl::StrSplit(text.substr(text.rfind(')') + 2), ' ');
  if (f.size() > 13) {
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    s.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / tick;
  }
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0)
      absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(6, line.size() - 9)), &s.rss_kb);
    if (line.rfind("Threads:", 0) == 0)
      absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(8)), &s.threads);
  }
  return s;
}

// GetJob every 50 ms for `duration`, latencies into `out`.
void Probe(v1::JobService::Stub* stub, const std::string& job, std::chrono::seconds duration,
           Samples* out) {
  const auto end = Clock::now() + duration;
  while (Clock::now() < end) {
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + 10s);
    v1::GetJobRequest r;
    r.set_job_id(job);
    v1::Job j;
    const auto t = Clock::now();
    if (stub->GetJob(&c, r, &j).ok()) {
      out->Add(MsSince(t));
    } else {
      ++g_errors;
    }
    std::this_thread::sleep_for(50ms);
  }
}

int Arg(int argc, char** argv, const std::string& name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return std::stoi(argv[i + 1]);
  }
  return fallback;
}
std::string ArgS(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

}  // namespace

int Main(int argc, char** argv) {
  const int workers = Arg(argc, argv, "--workers", 2000);
  const int watchers = Arg(argc, argv, "--watchers", 500);
  const int seconds = Arg(argc, argv, "--seconds", 30);
  const std::string out_path = ArgS(argc, argv, "--out", "");
  const std::string self = std::filesystem::canonical("/proc/self/exe").string();
  const std::string bin = std::filesystem::path(self).parent_path() / "spindle-coordinator";
  const std::string dir =
      absl::StrCat(std::filesystem::temp_directory_path().string(), "/spindle-load-", getpid());
  std::filesystem::create_directories(dir);

  proc::SpawnOptions o;
  o.program = bin;
  // Every simulated client shares one host, so the per-host JobService rate
  // limit (meant for one user's CLI) is lifted; the stream ceiling stays at
  // its default, above the watchers asked for.
  o.args = {"--listen",     "127.0.0.1:0",    "--port_file", dir + "/port", "--state_dir",
            dir + "/state", "--worker_lease", "15s",         "--log_level", "warn",
            "--rpc_rate_limit", "0", "--metrics_listen", "127.0.0.1:0"};
  o.stdout_path = dir + "/coordinator.log";
  o.stderr_to_stdout = true;
  absl::StatusOr<proc::Subprocess> coordinator = proc::Subprocess::Spawn(o);
  if (!coordinator.ok()) {
    std::cerr << coordinator.status() << "\n";
    return 1;
  }
  int port = 0;
  for (int i = 0; i < 200 && port == 0; ++i) {
    std::this_thread::sleep_for(50ms);
    std::ifstream in(dir + "/port");
    in >> port;
  }
  if (port == 0) {
    std::cerr << "the coordinator did not start; see " << o.stdout_path << "\n";
    return 1;
  }
  const std::string target = absl::StrCat("127.0.0.1:", port);
  // Streams spread over several connections, as many workers would.
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < 16; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("spindle.bench.channel", i);  // distinct args: distinct connections
    channels.push_back(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
  }
  auto jobs = v1::JobService::NewStub(channels[0]);

  // Queued jobs to watch: they ask for CUDA devices; the simulated workers have CPU slots.
  std::vector<std::string> job_ids;
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext c;
    v1::SubmitJobRequest r;
    r.mutable_spec()->set_yaml(absl::StrCat(
        "apiVersion: spindle/v1\nkind: TrainJob\nmetadata: {name: load-", i,
        "}\nspec:\n  model: {preset: tiny}\n  data: {source: synthetic, seq_len: 128}\n"
        "  resources: {device: cuda}\n  train: {max_steps: 10}\n"));
    r.mutable_spec()->set_working_dir(dir);
    v1::SubmitJobResponse resp;
    const grpc::Status s = jobs->SubmitJob(&c, r, &resp);
    if (!s.ok()) {
      std::cerr << "submit: " << s.error_message() << "\n";
      return 1;
    }
    job_ids.push_back(resp.job().id());
  }

  Samples idle;
  Probe(jobs.get(), job_ids[0], 5s, &idle);
  const ProcStats idle_stats = Sample(coordinator->pid());

  // Register every worker, then open its heartbeat stream.
  std::vector<std::unique_ptr<v1::WorkerRegistry::Stub>> registries;
  for (auto& ch : channels) registries.push_back(v1::WorkerRegistry::NewStub(ch));
  std::vector<std::unique_ptr<v1::JobService::Stub>> job_stubs;
  for (auto& ch : channels) job_stubs.push_back(v1::JobService::NewStub(ch));
  Samples rtt;
  std::vector<std::unique_ptr<HeartbeatStream>> streams;
  for (int w = 0; w < workers; ++w) {
    v1::RegisterWorkerRequest r;
    v1::WorkerInfo* info = r.mutable_worker();
    info->set_worker_id(absl::StrCat("sim-", w));
    info->set_host("sim");
    info->set_control_address("127.0.0.1:1");
    v1::Device* d = info->add_devices();
    d->set_kind("cpu");
    d->set_memory_bytes(int64_t{8} << 30);
    d->set_peak_flops_fp32(100e9);
    info->set_intra_node_bandwidth(5e9);
    info->set_inter_node_bandwidth(1e9);
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + 30s);
    v1::RegisterWorkerResponse resp;
    if (!registries[w % registries.size()]->Register(&c, r, &resp).ok()) ++g_errors;
    streams.push_back(std::make_unique<HeartbeatStream>(
        registries[w % registries.size()].get(), info->worker_id(), resp.session(), &rtt));
  }
  std::vector<std::unique_ptr<WatchStream>> watches;
  for (int i = 0; i < watchers; ++i) {
    watches.push_back(std::make_unique<WatchStream>(job_stubs[i % job_stubs.size()].get(),
                                                    job_ids[i % job_ids.size()]));
  }

  // Every worker beats once a second, spread evenly over the second.
  std::atomic<bool> stop{false};
  std::thread beater([&] {
    const auto start = Clock::now();
    for (int64_t tick = 0; !stop; ++tick) {
      const int w = static_cast<int>(tick % workers);
      streams[w]->Beat();
      std::this_thread::sleep_until(start +
                                    std::chrono::microseconds((tick + 1) * 1000000 / workers));
    }
  });
  std::this_thread::sleep_for(3s);  // streams settle
  const ProcStats before = Sample(coordinator->pid());
  const auto t0 = Clock::now();
  Samples loaded;
  Probe(jobs.get(), job_ids[0], std::chrono::seconds(seconds), &loaded);
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const ProcStats after = Sample(coordinator->pid());
  stop = true;
  beater.join();
  for (auto& w : watches) w->Stop();
  for (auto& s : streams) s->Stop();
  coordinator->Signal(SIGTERM);
  proc::ExitStatus exit_status;
  for (int i = 0; i < 400 && !coordinator->Poll(&exit_status); ++i)
    std::this_thread::sleep_for(50ms);

  std::ostringstream md;
  md << "# Coordinator under load\n\n"
     << "`spindle-load-bench --workers " << workers << " --watchers " << watchers << " --seconds "
     << seconds << "`: one `spindle-coordinator` process; " << workers
     << " simulated workers (registered, one heartbeat per second each on their streams), "
     << watchers << " WatchJob streams on 5 queued jobs, and a GetJob probe every 50 ms, first "
     << "idle (5 s) then under that load (" << seconds << " s). Measured on "
     << std::thread::hardware_concurrency() << " cores, everything on one machine.\n\n"
     << "| metric | idle | loaded | loaded / idle |\n| --- | --- | --- | --- |\n"
     << absl::StrFormat("| GetJob p50 (ms) | %.2f | %.2f | %.1f× |\n", idle.Percentile(0.5),
                        loaded.Percentile(0.5), loaded.Percentile(0.5) / idle.Percentile(0.5))
     << absl::StrFormat("| GetJob p99 (ms) | %.2f | %.2f | %.1f× |\n", idle.Percentile(0.99),
                        loaded.Percentile(0.99), loaded.Percentile(0.99) / idle.Percentile(0.99))
     << absl::StrFormat("| coordinator RSS (MiB) | %.1f | %.1f | %.1f× |\n",
                        idle_stats.rss_kb / 1024.0, after.rss_kb / 1024.0,
                        static_cast<double>(after.rss_kb) / std::max<int64_t>(1, idle_stats.rss_kb))
     << absl::StrFormat("| coordinator threads | %d | %d | |\n", idle_stats.threads, after.threads)
     << "\n| loaded run | value |\n| --- | --- |\n"
     << absl::StrFormat("| heartbeat round trip p50 / p99 (ms) | %.2f / %.2f |\n",
                        rtt.Percentile(0.5), rtt.Percentile(0.99))
     << absl::StrFormat("| heartbeats answered | %d (%.0f/s) |\n", rtt.size(),
                        static_cast<double>(rtt.size()) / (wall + 3))
     << absl::StrFormat("| coordinator RSS at the start / end of the run (MiB) | %.1f / %.1f |\n",
                        before.rss_kb / 1024.0, after.rss_kb / 1024.0)
     << absl::StrFormat("| coordinator CPU | %.2f cores |\n",
                        (after.cpu_seconds - before.cpu_seconds) / wall)
     << "| watch events received | " << g_events.load() << " |\n"
     << "| errors (failed calls or streams) | " << g_errors.load() << " |\n"
     << "| workers told to re-register (expired) | " << g_reregister.load() << " |\n";
  std::cout << md.str();
  if (!out_path.empty()) std::ofstream(out_path) << md.str();
  std::filesystem::remove_all(dir);
  return g_errors.load() == 0 ? 0 : 1;
}

}  // namespace spindle::bench

int main(int argc, char** argv) { return spindle::bench::Main(argc, argv); }
