#include "common/rpc/limits.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace spindle::rpc {
namespace {

// Buckets of hosts gone quiet are dropped past this many, so a scan of many
// source addresses cannot grow the map without bound.
constexpr size_t kMaxBuckets = 4096;

}  // namespace

std::string PeerHost(const std::string& peer) {
  if (peer.rfind("ipv4:", 0) != 0 && peer.rfind("ipv6:", 0) != 0) return peer;
  const size_t colon = peer.rfind(':');
  return colon == std::string::npos || colon < 5 ? peer : peer.substr(0, colon);
}

RateLimiter::RateLimiter(double rate, double burst)
    : rate_(rate), burst_(std::max(1.0, burst)) {}

bool RateLimiter::Allow(const std::string& host, Clock::time_point now) {
  if (rate_ <= 0) return true;
  std::lock_guard<std::mutex> lock(mu_);
  if (buckets_.size() >= kMaxBuckets) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      const double refill = std::chrono::duration<double>(now - it->second.last).count() * rate_;
      it = it->second.tokens + refill >= burst_ ? buckets_.erase(it) : std::next(it);
    }
  }
  auto [it, inserted] = buckets_.try_emplace(host, Bucket{burst_, now});
  Bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.last).count();
  b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed) * rate_);
  b.last = std::max(b.last, now);
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

grpc::Status RateLimiter::Admit(const grpc::ServerContext& context) {
  const std::string host = PeerHost(context.peer());
  if (Allow(host, Clock::now())) return grpc::Status::OK;
  return {grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrFormat("rate limit: %s sent more than %g requests/s (burst %g); retry later, "
                          "or raise the server's --rpc_rate_limit / --rpc_burst",
                          host, rate_, burst_)};
}

StreamSlots::Slot StreamSlots::Acquire(grpc::Status* status) {
  if (max_ <= 0) return Slot();
  if (open_.fetch_add(1) >= max_) {
    open_.fetch_sub(1);
    *status = {grpc::StatusCode::RESOURCE_EXHAUSTED,
               absl::StrCat(max_, " streams are open on this server (its --max_streams); close "
                                  "some watchers, or raise the limit")};
    return Slot();
  }
  *status = grpc::Status::OK;
  return Slot(this);
}

}  // namespace spindle::rpc
