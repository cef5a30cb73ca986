// What one client may ask of a server: a request rate per client host (token
// bucket: `rate` requests per second sustained, `burst` at once) and a
// ceiling on concurrently open streams (each holds a server thread with the
// synchronous API). Refusals are RESOURCE_EXHAUSTED naming the limit and the
// flag that raises it. Message size is bounded separately, by the server
// builder (--max_message_bytes).
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace spindle::rpc {

struct LimitOptions {
  double rate = 100;     // requests/s per client host; <= 0: unlimited
  double burst = 200;    // requests admitted at once after a quiet spell
  int max_streams = 1024;  // open server streams in all; <= 0: unlimited
};

// "ipv4:10.0.0.7:52114" -> "ipv4:10.0.0.7"; "ipv6:[::1]:5" -> "ipv6:[::1]".
std::string PeerHost(const std::string& peer);

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  RateLimiter(double rate, double burst);

  // OK, or RESOURCE_EXHAUSTED for a client host over its rate.
  grpc::Status Admit(const grpc::ServerContext& context);
  // The decision itself, at a given time (tests).
  bool Allow(const std::string& host, Clock::time_point now);

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  const double rate_, burst_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

// Counts open streams; a Slot releases its place when destroyed.
class StreamSlots {
 public:
  explicit StreamSlots(int max) : max_(max) {}

  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (owner_ != nullptr) owner_->open_.fetch_sub(1);
    }

   private:
    friend class StreamSlots;
    explicit Slot(StreamSlots* owner) : owner_(owner) {}
    StreamSlots* owner_ = nullptr;
  };

  // A slot, or RESOURCE_EXHAUSTED in *status when max streams are open.
  Slot Acquire(grpc::Status* status);
  int open() const { return open_.load(); }

 private:
  const int max_;
  std::atomic<int> open_{0};
};

}  // namespace spindle::rpc
