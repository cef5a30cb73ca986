#include "common/comm/gloo_communicator.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <filesystem>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/comm/errors.h"
#include "common/comm/p2p_communicator.h"
#include "common/comm/transport.h"
#include "gloo/common/error.h"
#include "gloo/rendezvous/context.h"
#include "gloo/rendezvous/file_store.h"
#include "gloo/rendezvous/prefix_store.h"
#include "gloo/transport/tcp/device.h"
#include "gloo/transport/unbound_buffer.h"

namespace spindle::comm {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Time left until `deadline`, rounded up, at least `floor` (Gloo reads 0 as
// "no timeout" in store waits and -1 as "the context default" in transfers).
milliseconds Remaining(Deadline deadline, milliseconds floor) {
  const auto left = std::chrono::ceil<milliseconds>(deadline - steady_clock::now());
  return std::max(left, floor);
}

uint64_t Mix(uint64_t x) {  // splitmix64 finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Gloo matches a send with the receive of the same slot and accepts any size
// up to the receive buffer's, so the slot carries the size: a mismatch never
// matches and surfaces as a timeout instead of a silently short message.
uint64_t SlotOf(const MessageTag& tag, int64_t bytes) {
  uint64_t h = Mix(tag.seq);
  h = Mix(h ^ static_cast<uint64_t>(tag.op));
  h = Mix(h ^ static_cast<uint64_t>(tag.index));
  return Mix(h ^ static_cast<uint64_t>(bytes));
}

// One UnboundBuffer per transfer, so every wait knows the peer it waits on.
class GlooTransfer final : public PendingTransfer {
 public:
  GlooTransfer(gloo::Context& context, bool is_send, int peer, const MessageTag& tag, void* data,
               int64_t bytes)
      : is_send_(is_send) {
    try {
      buffer_ = context.createUnboundBuffer(data, static_cast<size_t>(bytes));
      if (is_send) {
        buffer_->send(peer, SlotOf(tag, bytes), 0, static_cast<size_t>(bytes));
      } else {
        buffer_->recv(peer, SlotOf(tag, bytes), 0, static_cast<size_t>(bytes));
      }
    } catch (const std::exception& e) {
      post_error_ = absl::UnavailableError(absl::StrCat("gloo: ", e.what()));
    }
  }

  absl::Status Wait(Deadline deadline) override {
    if (!post_error_.ok() || done_) return post_error_;
    try {
      const milliseconds timeout = Remaining(deadline, milliseconds(0));
      const bool completed =
          is_send_ ? buffer_->waitSend(nullptr, timeout) : buffer_->waitRecv(nullptr, timeout);
      if (!completed) return absl::UnavailableError("gloo aborted the transfer");
      done_ = true;
      return absl::OkStatus();
    } catch (const std::exception& e) {
      // Gloo reports its own timeout as an IoException ("Timed out waiting
      // ...") and, on it, closes every connection of the context.
      if (steady_clock::now() >= deadline || absl::StrContains(e.what(), "Timed out")) {
        return absl::DeadlineExceededError("");
      }
      return absl::UnavailableError(absl::StrCat("gloo: ", e.what()));
    }
  }

 private:
  bool is_send_;
  std::unique_ptr<gloo::transport::UnboundBuffer> buffer_;
  absl::Status post_error_;
  bool done_ = false;
};

class GlooTransport final : public Transport {
 public:
  GlooTransport(std::shared_ptr<gloo::transport::Device> device,
                std::shared_ptr<gloo::rendezvous::Context> context)
      : device_(std::move(device)), context_(std::move(context)) {}

  ~GlooTransport() override {
    context_.reset();  // closes the pairs before their device goes
  }

  int rank() const override { return context_->rank; }
  int size() const override { return context_->size; }

  std::unique_ptr<PendingTransfer> PostSend(int peer, const MessageTag& tag, const void* data,
                                            int64_t bytes) override {
    return std::make_unique<GlooTransfer>(*context_, /*is_send=*/true, peer, tag,
                                          const_cast<void*>(data), bytes);
  }
  std::unique_ptr<PendingTransfer> PostRecv(int peer, const MessageTag& tag, void* data,
                                            int64_t bytes) override {
    return std::make_unique<GlooTransfer>(*context_, /*is_send=*/false, peer, tag, data, bytes);
  }

  // Closing the sockets makes every peer's pending transfer with this rank
  // fail with a connection error naming it, instead of timing out.
  void Abort(const absl::Status&) override {
    try {
      context_->closeConnections();
    } catch (const std::exception&) {
      // Already closed by Gloo after a timeout or a peer's reset.
    }
  }

 private:
  std::shared_ptr<gloo::transport::Device> device_;
  std::shared_ptr<gloo::rendezvous::Context> context_;
};

// Gloo's FileStore::wait compares whole seconds, overshooting a 1 s timeout
// by up to a second per call; this polls its key files every 5 ms instead.
class PreciseFileStore final : public gloo::rendezvous::FileStore {
 public:
  using FileStore::FileStore;
  using FileStore::wait;

  void wait(const std::vector<std::string>& keys, const milliseconds& timeout) override {
    const auto deadline = steady_clock::now() + timeout;
    while (!check(keys)) {
      if (timeout != gloo::kNoTimeout && steady_clock::now() >= deadline) {
        GLOO_THROW_IO_EXCEPTION("Wait timeout for key(s): ", keys.front(), " (", keys.size(),
                                " keys)");
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
  }
};

std::string PresenceKey(int rank) { return absl::StrCat("spindle_presence_", rank); }

// Publishes this rank's presence and waits for every peer's, so that a rank
// that never arrives is named rather than hidden inside connectFullMesh.
absl::Status AwaitPeers(gloo::rendezvous::Store& store, int rank, int size,
                        const CommOptions& options, Deadline deadline) {
  const std::string prefix = absl::StrCat("rendezvous of group '", options.group, "': ");
  try {
    store.set(PresenceKey(rank), std::vector<char>{'1'});
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(prefix, "store error: ", e.what()));
  }
  std::vector<int> missing;
  for (int peer = 0; peer < size; ++peer) {
    if (peer == rank) continue;
    // Past the first missing rank, only look whether the others are there.
    const milliseconds timeout =
        missing.empty() ? Remaining(deadline, milliseconds(1)) : milliseconds(1);
    try {
      store.wait({PresenceKey(peer)}, timeout);
    } catch (const std::exception&) {
      missing.push_back(peer);
    }
  }
  if (!missing.empty()) return RendezvousTimeout(options, missing);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> CreateGlooCommunicator(
    gloo::rendezvous::Store& store, int rank, int size, const CommOptions& options,
    const GlooOptions& gloo_options) {
  // Gloo writes to its sockets with writev, which raises SIGPIPE when the
  // peer has died and would kill this process silently; ignored, the write
  // fails with EPIPE and surfaces as an error naming that peer.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { signal(SIGPIPE, SIG_IGN); });
  if (size < 1 || rank < 0 || rank >= size ||
      (!options.world_ranks.empty() && static_cast<int>(options.world_ranks.size()) != size)) {
    return absl::InvalidArgumentError(
        absl::StrCat("group '", options.group, "': rank ", rank, " of ", size, " with ",
                     options.world_ranks.size(),
                     " world ranks (want 0 <= rank < size, world ranks empty or ", size, ")"));
  }
  const Deadline deadline = steady_clock::now() + options.timeout;
  gloo::rendezvous::PrefixStore scoped(options.group, store);
  if (absl::Status s = AwaitPeers(scoped, rank, size, options, deadline); !s.ok()) return s;

  std::shared_ptr<gloo::transport::Device> device;
  try {
    gloo::transport::tcp::attr attr;
    if (gloo_options.iface.empty()) {
      attr.hostname = gloo_options.hostname;
    } else {
      attr.iface = gloo_options.iface;
    }
    device = gloo::transport::tcp::CreateDevice(attr);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        "group '", options.group, "': cannot open a TCP device on '",
        gloo_options.iface.empty() ? gloo_options.hostname : gloo_options.iface, "': ", e.what()));
  }
  auto context = std::make_shared<gloo::rendezvous::Context>(rank, size);
  try {
    context->setTimeout(Remaining(deadline, milliseconds(1)));
    context->connectFullMesh(scoped, device);
    context->setTimeout(options.timeout);
  } catch (const std::exception& e) {
    const std::string msg = absl::StrCat("rendezvous of group '", options.group,
                                         "': connecting the full mesh failed: ", e.what());
    if (steady_clock::now() >= deadline) return absl::DeadlineExceededError(msg);
    return absl::UnavailableError(msg);
  }
  return std::unique_ptr<Communicator>(new P2PCommunicator(
      std::make_unique<GlooTransport>(std::move(device), std::move(context)), options));
}

absl::StatusOr<std::unique_ptr<gloo::rendezvous::Store>> MakeFileStore(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create store directory '", dir, "': ", ec.message()));
  }
  return std::unique_ptr<gloo::rendezvous::Store>(new PreciseFileStore(dir));
}

}  // namespace spindle::comm
