#include "worker/daemon/coordinator_link.h"

#include <grpcpp/grpcpp.h>

#include <vector>

#include "spdlog/spdlog.h"

namespace spindle::worker {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kRegisterTimeout{5000};
constexpr milliseconds kMaxBackoff{5000};

}  // namespace

CoordinatorLink::CoordinatorLink(std::string coordinator, const rpc::Security& security,
                                 v1::WorkerInfo info, RankSupervisor* supervisor,
                                 milliseconds stop_grace)
    : coordinator_(std::move(coordinator)),
      info_(std::move(info)),
      supervisor_(supervisor),
      stop_grace_(stop_grace) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Reconnect quickly after a coordinator restart.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  stub_ = v1::WorkerRegistry::NewStub(rpc::MakeChannel(coordinator_, security, args));
}

CoordinatorLink::~CoordinatorLink() { Stop(); }

void CoordinatorLink::Start() {
  thread_ = std::thread([this] { Run(); });
}

void CoordinatorLink::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (stream_context_) stream_context_->TryCancel();
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  for (std::thread& t : stoppers_) t.join();
  stoppers_.clear();
}

bool CoordinatorLink::Sleep(milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  wake_.wait_for(lock, d, [this] { return stopping_ || beat_now_; });
  beat_now_ = false;
  return !stopping_;
}

bool CoordinatorLink::Flush(milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t want = beats_started_ + 1;
  beat_now_ = true;
  wake_.notify_all();
  return wake_.wait_for(lock, timeout, [&] { return stopping_ || beats_answered_ >= want; }) &&
         beats_answered_ >= want;
}

bool CoordinatorLink::Register(milliseconds* interval) {
  v1::RegisterWorkerRequest request;
  *request.mutable_worker() = info_;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kRegisterTimeout);
  v1::RegisterWorkerResponse response;
  const grpc::Status s = stub_->Register(&context, request, &response);
  if (!s.ok()) {
    spdlog::warn(
        "registering with the coordinator at {}: {} (retrying; is spindle-coordinator "
        "running there? see --coordinator)",
        coordinator_, s.error_message());
    return false;
  }
  *interval = milliseconds(std::max<int64_t>(100, response.heartbeat_interval_ms()));
  session_ = response.session();
  spdlog::info("registered with the coordinator at {} as {}; heartbeat every {} ms", coordinator_,
               info_.worker_id(), interval->count());
  return true;
}

void CoordinatorLink::Beat(milliseconds interval) {
  auto context = std::make_shared<grpc::ClientContext>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stream_context_ = context;
  }
  auto stream = stub_->Heartbeat(context.get());
  for (;;) {
    v1::WorkerHeartbeat hb;
    hb.set_worker_id(info_.worker_id());
    hb.set_session(session_);
    int64_t number;
    {
      std::lock_guard<std::mutex> lock(mu_);
      number = ++beats_started_;
    }
    supervisor_->FillHeartbeat(&hb);
    v1::HeartbeatReply reply;
    if (!stream->Write(hb) || !stream->Read(&reply)) break;
    {
      std::lock_guard<std::mutex> lock(mu_);
      beats_answered_ = number;
      wake_.notify_all();
    }
    for (const v1::AttemptRef& stop : reply.stop()) {
      spdlog::info("the coordinator ended {} attempt {}: stopping its ranks here", stop.job_id(),
                   stop.attempt());
      // Off this thread: the grace period must not delay heartbeats.
      std::lock_guard<std::mutex> lock(mu_);
      stoppers_.emplace_back(
          [this, stop] { supervisor_->Stop(stop.job_id(), stop.attempt(), stop_grace_); });
    }
    if (reply.reregister()) {
      spdlog::info("the coordinator asks {} to register again", info_.worker_id());
      break;
    }
    if (!Sleep(interval)) break;
  }
  stream->WritesDone();
  const grpc::Status s = stream->Finish();
  registered_ = false;
  std::lock_guard<std::mutex> lock(mu_);
  stream_context_.reset();
  if (!stopping_ && !s.ok()) {
    spdlog::warn("heartbeat stream to {} ended: {}; registering again", coordinator_,
                 s.error_message());
  }
}

void CoordinatorLink::Run() {
  milliseconds backoff{200};
  while (Sleep(milliseconds(0))) {
    milliseconds interval{1000};
    if (!Register(&interval)) {
      if (!Sleep(backoff)) return;
      backoff = std::min(backoff * 2, kMaxBackoff);
      continue;
    }
    backoff = milliseconds(200);
    registered_ = true;
    Beat(interval);
  }
}

}  // namespace spindle::worker
