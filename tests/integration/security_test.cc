// Security end to end: a coordinator and a worker serving TLS with a bearer
// token. Every method of every Spindle service refuses calls without the
// token or with a wrong one (and the count of methods is checked, so a new
// method cannot slip by); plaintext clients cannot talk to TLS servers; the
// health service stays open; a job runs end to end over TLS with the token
// (CLI → coordinator → worker → ranks → rendezvous) and leaves no secret in
// any log; message size, request rate and open streams are bounded; bad
// token files stop a daemon at start with the fix.
#include "common/rpc/security.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "spindle/v1/job.grpc.pb.h"
#include "spindle/v1/rendezvous.grpc.pb.h"
#include "spindle/v1/worker.grpc.pb.h"
#include "tests/integration/local_cluster.h"

namespace spindle::testing {
namespace {

using namespace std::chrono_literals;
namespace v1 = spindle::v1;

ClusterBinaries Bins() { return {SPINDLE_COORDINATOR_BIN, SPINDLE_WORKER_BIN, SPINDLE_CLI_BIN}; }

// A CA and one certificate for 127.0.0.1/localhost that serves and
// authenticates clients, made with the openssl command line (EC P-256).
struct Pki {
  std::string ca, cert, key, other_ca;
};

Pki MakePki(const TempDir& dir) {
  Pki p{dir.Join("ca.pem"), dir.Join("node.pem"), dir.Join("node.key"), dir.Join("other-ca.pem")};
  const std::string d = dir.path();
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string script = absl::StrCat(
      "set -e; cd '", d, "';", "openssl req -x509 ", ec,
      " -keyout ca.key -out ca.pem -days 2 -subj /CN=spindle-test-ca;", "openssl req -x509 ", ec,
      " -keyout other.key -out other-ca.pem -days 2 -subj /CN=other;", "openssl req ", ec,
      " -keyout node.key -out node.csr -subj /CN=localhost;",
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth,"
      "clientAuth\\n' > ext.cnf;",
      "openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out node.pem ",
      "-days 2 -extfile ext.cnf 2>/dev/null");
  const int rc = std::system(("bash -c \"" + script + "\" > /dev/null 2>&1").c_str());
  EXPECT_EQ(rc, 0) << "openssl failed: " << script;
  return p;
}

std::string WriteToken(const TempDir& dir, const std::string& name, const std::string& token,
                       mode_t mode = 0600) {
  const std::string path = dir.Join(name);
  std::ofstream(path) << token << "\n";
  chmod(path.c_str(), mode);
  return path;
}

rpc::Security ClientSecurity(const std::string& ca, const std::string& token) {
  rpc::Security s;
  std::ifstream in(ca);
  s.ca_pem.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  s.token = token;
  return s;
}

std::shared_ptr<grpc::Channel> Channel(int port, const rpc::Security& s) {
  return rpc::MakeChannel(absl::StrCat("127.0.0.1:", port), s, grpc::ChannelArguments());
}

grpc::StatusCode Code(const grpc::Status& s) { return s.error_code(); }

// Calls every method of every service on the coordinator (port) and the
// worker (worker_port) and returns "Service/Method -> code" for each.
std::map<std::string, grpc::StatusCode> CallEverything(int port, int worker_port,
                                                       const rpc::Security& s) {
  std::map<std::string, grpc::StatusCode> codes;
  auto ctx = [] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + 10s);
    return c;
  };
  auto jobs = v1::JobService::NewStub(Channel(port, s));
  {
    v1::SubmitJobResponse r;
    codes["JobService/SubmitJob"] = Code(jobs->SubmitJob(ctx().get(), {}, &r));
    v1::PlanJobResponse p;
    codes["JobService/PlanJob"] = Code(jobs->PlanJob(ctx().get(), {}, &p));
    v1::Job j;
    codes["JobService/GetJob"] = Code(jobs->GetJob(ctx().get(), {}, &j));
    v1::ListJobsResponse l;
    codes["JobService/ListJobs"] = Code(jobs->ListJobs(ctx().get(), {}, &l));
    auto c1 = ctx();
    auto watch = jobs->WatchJob(c1.get(), {});
    v1::JobEvent e;
    while (watch->Read(&e)) {
    }
    codes["JobService/WatchJob"] = Code(watch->Finish());
    auto c2 = ctx();
    auto logs = jobs->JobLogs(c2.get(), {});
    v1::LogChunk chunk;
    while (logs->Read(&chunk)) {
    }
    codes["JobService/JobLogs"] = Code(logs->Finish());
    v1::CancelJobResponse cr;
    codes["JobService/CancelJob"] = Code(jobs->CancelJob(ctx().get(), {}, &cr));
    v1::ListWorkersResponse w;
    codes["JobService/ListWorkers"] = Code(jobs->ListWorkers(ctx().get(), {}, &w));
  }
  auto registry = v1::WorkerRegistry::NewStub(Channel(port, s));
  {
    v1::RegisterWorkerResponse r;
    codes["WorkerRegistry/Register"] = Code(registry->Register(ctx().get(), {}, &r));
    auto c = ctx();
    auto hb = registry->Heartbeat(c.get());
    hb->Write(v1::WorkerHeartbeat());
    hb->WritesDone();
    v1::HeartbeatReply reply;
    while (hb->Read(&reply)) {
    }
    codes["WorkerRegistry/Heartbeat"] = Code(hb->Finish());
  }
  auto rendezvous = v1::Rendezvous::NewStub(Channel(port, s));
  {
    v1::SetKeyResponse r;
    codes["Rendezvous/SetKey"] = Code(rendezvous->SetKey(ctx().get(), {}, &r));
    v1::GetKeysResponse g;
    codes["Rendezvous/GetKeys"] = Code(rendezvous->GetKeys(ctx().get(), {}, &g));
  }
  auto control = v1::WorkerControl::NewStub(Channel(worker_port, s));
  {
    v1::StartRanksResponse r;
    codes["WorkerControl/StartRanks"] = Code(control->StartRanks(ctx().get(), {}, &r));
    v1::StopRanksResponse st;
    codes["WorkerControl/StopRanks"] = Code(control->StopRanks(ctx().get(), {}, &st));
    v1::ReadLogResponse rl;
    codes["WorkerControl/ReadLog"] = Code(control->ReadLog(ctx().get(), {}, &rl));
  }
  return codes;
}

int MethodCount() {
  int n = 0;
  for (const char* service : {"spindle.v1.JobService", "spindle.v1.WorkerRegistry",
                              "spindle.v1.Rendezvous", "spindle.v1.WorkerControl"}) {
    const google::protobuf::ServiceDescriptor* d =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
    EXPECT_NE(d, nullptr) << service;
    if (d != nullptr) n += d->method_count();
  }
  return n;
}

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = MakePki(cluster_.dir());
    token_ = "s3cret-" + std::to_string(::getpid());
    token_file_ = WriteToken(cluster_.dir(), "token", token_);
    cluster_.daemon_args = {"--token_file", token_file_, "--tls_cert", pki_.cert,
                            "--tls_key",    pki_.key,    "--tls_ca",   pki_.ca};
    cluster_.cli_args = {"--token-file", token_file_, "--tls-ca", pki_.ca};
    ASSERT_TRUE(cluster_.StartCoordinator());
    ASSERT_TRUE(cluster_.StartWorkers(1, 2));
  }
  int WorkerPort() {
    const nlohmann::json w =
        nlohmann::json::parse(cluster_.Cli({"workers", "-o", "json"}).out, nullptr, false);
    const std::string address = w["workers"][0].value("control_address", "");
    return std::stoi(address.substr(address.rfind(':') + 1));
  }
  LocalCluster cluster_{Bins()};
  Pki pki_;
  std::string token_, token_file_;
};

TEST_F(SecurityTest, EveryMethodRefusesCallsWithoutTheRightToken) {
  const int worker_port = WorkerPort();
  for (const std::string& token : {std::string(), std::string("wrong-token")}) {
    SCOPED_TRACE(token.empty() ? "no token" : "wrong token");
    const auto codes = CallEverything(cluster_.port(), worker_port, ClientSecurity(pki_.ca, token));
    EXPECT_EQ(static_cast<int>(codes.size()), MethodCount()) << "a method is not covered";
    for (const auto& [method, code] : codes) {
      EXPECT_EQ(code, grpc::StatusCode::UNAUTHENTICATED) << method;
    }
  }
  // With the token the same calls get past authentication (and fail, if at
  // all, on their empty requests).
  const auto codes = CallEverything(cluster_.port(), worker_port, ClientSecurity(pki_.ca, token_));
  for (const auto& [method, code] : codes)
    EXPECT_NE(code, grpc::StatusCode::UNAUTHENTICATED) << method;
}

TEST_F(SecurityTest, PlaintextAndUntrustedClientsCannotConnect) {
  auto jobs = v1::JobService::NewStub(Channel(cluster_.port(), rpc::Security{}));
  grpc::ClientContext c1;
  c1.set_deadline(std::chrono::system_clock::now() + 5s);
  v1::ListWorkersResponse r;
  EXPECT_EQ(jobs->ListWorkers(&c1, {}, &r).error_code(), grpc::StatusCode::UNAVAILABLE);
  // A client trusting another CA rejects the server's certificate.
  jobs = v1::JobService::NewStub(Channel(cluster_.port(), ClientSecurity(pki_.other_ca, token_)));
  grpc::ClientContext c2;
  c2.set_deadline(std::chrono::system_clock::now() + 5s);
  EXPECT_EQ(jobs->ListWorkers(&c2, {}, &r).error_code(), grpc::StatusCode::UNAVAILABLE);
  // The CLI without the token: exit code 5 and the fix.
  cluster_.cli_args = {"--tls-ca", pki_.ca};
  const CliResult cli = cluster_.Cli({"list"});
  EXPECT_EQ(cli.exit_code, 5) << cli.out << cli.err;
  EXPECT_NE(cli.err.find("bearer token"), std::string::npos) << cli.err;
}

TEST_F(SecurityTest, HealthIsOpenWithoutAToken) {
  auto health =
      grpc::health::v1::Health::NewStub(Channel(cluster_.port(), ClientSecurity(pki_.ca, "")));
  grpc::ClientContext c;
  c.set_deadline(std::chrono::system_clock::now() + 5s);
  grpc::health::v1::HealthCheckResponse r;
  ASSERT_TRUE(health->Check(&c, {}, &r).ok());
  EXPECT_EQ(r.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(SecurityTest, AJobRunsEndToEndOverTlsWithTheToken) {
  const std::string dir = cluster_.dir().Join("job");
  const std::string spec = cluster_.dir().Join("job.yaml");
  std::ofstream(spec) << absl::StrCat(R"(apiVersion: spindle/v1
kind: TrainJob
metadata: {name: secure}
spec:
  model: {preset: tiny}
  data: {source: synthetic, task: copy, seq_len: 64, global_batch_seqs: 4, micro_batch_seqs: 4}
  parallel: {dp: 1, sp: {ulysses: 1, ring: 2, layout: zigzag}}
  resources: {device: cpu, nodes: {min: 1, max: 1}, devices_per_node: 2}
  train: {max_steps: 5, log_every_steps: 1}
  checkpoint: {dir: )",
                                      dir, R"(/ckpt, every: {steps: 5}, export: {dir: )", dir,
                                      R"(/export}}
)");
  const CliResult r = cluster_.Cli({"submit", spec}, 180s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("SUCCEEDED"), std::string::npos) << r.out;

  // The attempt's rendezvous key reached the ranks in an owner-only file,
  // and no secret (token, attempt key) was written to any log or output.
  std::vector<std::string> secrets = {token_};
  for (const auto& f : std::filesystem::recursive_directory_iterator(cluster_.WorkerDir(0))) {
    if (f.path().filename() != "attempt.key") continue;
    struct stat st;
    ASSERT_EQ(::stat(f.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f.path();
    std::ifstream in(f.path());
    std::string key;
    in >> key;
    EXPECT_EQ(key.size(), 32u) << f.path();
    secrets.push_back(key);
  }
  ASSERT_GE(secrets.size(), 2u) << "no attempt.key under " << cluster_.WorkerDir(0);
  const CliResult events = cluster_.Cli({"events", "secure-1"});
  const CliResult status = cluster_.Cli({"status", "secure-1", "-o", "json"});
  for (const std::string& secret : secrets) {
    EXPECT_EQ((r.out + r.err + events.out + status.out).find(secret), std::string::npos);
  }
  int logs = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(cluster_.dir().path())) {
    if (!f.is_regular_file() || f.path().extension() != ".log") continue;
    ++logs;
    std::ifstream in(f.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const std::string& secret : secrets) {
      EXPECT_EQ(text.find(secret), std::string::npos) << "a secret in " << f.path();
    }
  }
  EXPECT_GE(logs, 4) << "coordinator, worker and two rank logs";
}

TEST(JobRootsTest, PathsOutsideTheRootsAreRefusedBeforeQueueing) {
  LocalCluster cluster(Bins());
  cluster.coordinator_args = {"--job_roots", cluster.dir().path()};
  ASSERT_TRUE(cluster.StartCoordinator());
  ASSERT_TRUE(cluster.StartWorkers(1, 2));
  const std::string spec = cluster.dir().Join("job.yaml");
  std::ofstream(spec) << R"(apiVersion: spindle/v1
kind: TrainJob
metadata: {name: nosy}
spec:
  model: {preset: tiny}
  data: {source: tokens, path: /etc/shadow, seq_len: 64, global_batch_seqs: 2}
  resources: {device: cpu, nodes: {min: 1, max: 1}, devices_per_node: 2}
  train: {max_steps: 5}
  checkpoint: {dir: ckpt}
)";
  for (std::vector<std::string> args :
       {std::vector<std::string>{"submit", spec, "-d"}, std::vector<std::string>{"plan", spec}}) {
    const CliResult r = cluster.Cli(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << r.out << r.err;
    EXPECT_NE(r.err.find("data.path: /etc/shadow resolves to /etc/shadow, outside the job roots"),
              std::string::npos)
        << r.err;
  }
  EXPECT_EQ(cluster.Cli({"list", "-o", "json"}).out.find("nosy"), std::string::npos)
      << "nothing was queued";
}

// Message size, request rate and open streams are bounded, each refusal
// naming the limit and the flag that raises it.
TEST(LimitsTest, MessageSizeRequestRateAndStreamsAreBounded) {
  LocalCluster cluster(Bins());
  cluster.coordinator_args = {"--max_message_bytes", "1048576", "--rpc_rate_limit", "2",
                              "--rpc_burst",         "4",       "--max_streams",    "1"};
  ASSERT_TRUE(cluster.StartCoordinator());
  auto jobs = v1::JobService::NewStub(Channel(cluster.port(), rpc::Security{}));
  auto call_ctx = [] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + 10s);
    return c;
  };
  const std::string spec = R"(apiVersion: spindle/v1
kind: TrainJob
metadata: {name: limits}
spec:
  model: {preset: tiny}
  data: {source: synthetic, task: copy, seq_len: 64, global_batch_seqs: 2}
  resources: {device: cpu, nodes: {min: 1, max: 1}, devices_per_node: 1}
  train: {max_steps: 5}
  checkpoint: {dir: ckpt}
)";
  // Over the spec limit (256 KiB) but under the message limit: the spec's own error.
  v1::SubmitJobRequest big;
  big.mutable_spec()->set_yaml(spec + "# " + std::string(300 << 10, 'x') + "\n");
  big.mutable_spec()->set_source_name("big.yaml");
  v1::SubmitJobResponse submitted;
  grpc::Status s = jobs->SubmitJob(call_ctx().get(), big, &submitted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("big.yaml: "), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("at most 256 KiB"), std::string::npos) << s.error_message();
  // Over the message limit: refused by gRPC before any handler runs.
  big.mutable_spec()->set_yaml(std::string(2 << 20, 'x'));
  s = jobs->SubmitJob(call_ctx().get(), big, &submitted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();

  // One open watch (a job with no workers waits queued) fills --max_streams 1.
  std::this_thread::sleep_for(2500ms);  // refill the bucket (2/s, burst 4)
  v1::SubmitJobRequest ok;
  ok.mutable_spec()->set_yaml(spec);
  ASSERT_TRUE(jobs->SubmitJob(call_ctx().get(), ok, &submitted).ok());
  auto watch_ctx = call_ctx();
  v1::WatchJobRequest w;
  w.set_job_id(submitted.job().id());
  auto watch = jobs->WatchJob(watch_ctx.get(), w);
  v1::JobEvent event;
  ASSERT_TRUE(watch->Read(&event)) << "the first watch is served";
  auto second_ctx = call_ctx();
  auto second = jobs->WatchJob(second_ctx.get(), w);
  while (second->Read(&event)) {
  }
  s = second->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(s.error_message().find("--max_streams"), std::string::npos) << s.error_message();
  watch_ctx->TryCancel();
  while (watch->Read(&event)) {
  }
  watch->Finish();

  // A burst past the bucket: the first calls pass, then RESOURCE_EXHAUSTED.
  std::this_thread::sleep_for(2500ms);
  int passed = 0, limited = 0;
  for (int i = 0; i < 12; ++i) {
    v1::ListJobsResponse list;
    s = jobs->ListJobs(call_ctx().get(), {}, &list);
    if (s.ok()) {
      ++passed;
    } else {
      ++limited;
      EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
      EXPECT_NE(s.error_message().find("--rpc_rate_limit"), std::string::npos)
          << s.error_message();
    }
  }
  EXPECT_GE(passed, 4);
  EXPECT_GE(limited, 1);
}

TEST(SecurityStartTest, ABadTokenFileStopsTheDaemonWithTheFix) {
  TempDir dir;
  const std::string open_file = WriteToken(dir, "open-token", "abc", 0644);
  LocalCluster cluster(Bins());
  cluster.daemon_args = {"--token_file", open_file};
  EXPECT_FALSE(cluster.StartCoordinator());
  std::ifstream log(cluster.LogOf("coordinator"));
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("chmod 600 " + open_file), std::string::npos) << text;
}

}  // namespace
}  // namespace spindle::testing
