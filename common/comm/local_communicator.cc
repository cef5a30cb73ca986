#include "common/comm/local_communicator.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/comm/errors.h"
#include "common/comm/p2p_communicator.h"
#include "common/comm/transport.h"
#include "common/status.h"

namespace spindle::comm {
namespace {

// One side of a message. A posted half waits in its group's `unmatched` map
// until the other side is posted; whoever posts second copies the bytes
// (under the group mutex, so a cancelled half is never touched afterwards).
struct Half {
  bool is_send;
  int src;  // group ranks
  int dst;
  MessageTag tag;
  void* data;
  int64_t bytes;
  bool queued = false;  // in Group::unmatched
  bool done = false;
  absl::Status error;  // set with done when the two sides disagree
};

// (is_send, src, dst, seq, index): a send and a receive with equal fields
// other than is_send are the two halves of one message.
using HalfKey = std::tuple<bool, int, int, uint64_t, int64_t>;
HalfKey KeyOf(const Half& h) { return {h.is_send, h.src, h.dst, h.tag.seq, h.tag.index}; }

}  // namespace

struct LocalFabric::Group {
  CommOptions options;  // name and world ranks, for rendezvous errors
  std::mutex mu;
  std::condition_variable cv;
  std::vector<bool> joined ABSL_GUARDED_BY(mu);
  bool closed ABSL_GUARDED_BY(mu) = false;              // rendezvous failed; nobody may join
  std::vector<std::string> failed ABSL_GUARDED_BY(mu);  // by group rank; empty = healthy
  std::map<HalfKey, Half*> unmatched ABSL_GUARDED_BY(mu);
};

namespace {

using Group = LocalFabric::Group;

int WorldOf(const Group& g, int group_rank) { return g.options.world_ranks[group_rank]; }

// Completes a send and a receive with equal keys, or fails both when the two
// ranks disagree on the op or the size.
void Match(Half& send, Half& recv, const Memory& memory) {
  if (send.tag.op != recv.tag.op) {
    send.error = absl::FailedPreconditionError(absl::StrCat(
        "called ", OpName(recv.tag.op), " where this rank called ", OpName(send.tag.op)));
    recv.error = absl::FailedPreconditionError(absl::StrCat(
        "called ", OpName(send.tag.op), " where this rank called ", OpName(recv.tag.op)));
  } else if (send.bytes != recv.bytes) {
    send.error = absl::FailedPreconditionError(
        absl::StrCat("expects ", recv.bytes, " bytes where this rank sends ", send.bytes));
    recv.error = absl::FailedPreconditionError(
        absl::StrCat("sends ", send.bytes, " bytes where this rank expects ", recv.bytes));
  } else if (absl::Status s = memory.Copy(recv.data, send.data, send.bytes); !s.ok()) {
    send.error = recv.error = absl::InternalError(s.message());
  }
  send.done = recv.done = true;
  send.queued = recv.queued = false;
}

class LocalTransfer final : public PendingTransfer {
 public:
  LocalTransfer(std::shared_ptr<LocalFabric> fabric, std::shared_ptr<Group> group, Half half)
      : fabric_(std::move(fabric)), group_(std::move(group)), half_(half) {}

  ~LocalTransfer() override {
    std::lock_guard<std::mutex> lock(group_->mu);
    if (half_.queued) group_->unmatched.erase(KeyOf(half_));
  }

  // Matches against a queued opposite half, or queues this one.
  void Post() {
    std::lock_guard<std::mutex> lock(group_->mu);
    HalfKey opposite = KeyOf(half_);
    std::get<0>(opposite) = !half_.is_send;
    auto it = group_->unmatched.find(opposite);
    if (it == group_->unmatched.end()) {
      half_.queued = true;
      group_->unmatched.emplace(KeyOf(half_), &half_);
      return;
    }
    Half& other = *it->second;
    group_->unmatched.erase(it);
    if (half_.is_send) {
      Match(half_, other, fabric_->memory());
    } else {
      Match(other, half_, fabric_->memory());
    }
    group_->cv.notify_all();
  }

  absl::Status Wait(Deadline deadline) override {
    const int me = half_.is_send ? half_.src : half_.dst;
    const int peer = half_.is_send ? half_.dst : half_.src;
    std::unique_lock<std::mutex> lock(group_->mu);
    while (true) {
      if (half_.done) return half_.error;
      if (fabric_->IsKilled(WorldOf(*group_, me))) {
        return absl::AbortedError(
            absl::StrCat("this rank (world rank ", WorldOf(*group_, me), ") was killed"));
      }
      if (fabric_->IsKilled(WorldOf(*group_, peer))) {
        return absl::UnavailableError("it was killed");
      }
      if (!group_->failed[peer].empty()) {
        return absl::UnavailableError(absl::StrCat("it failed: ", group_->failed[peer]));
      }
      if (std::chrono::steady_clock::now() >= deadline) return absl::DeadlineExceededError("");
      group_->cv.wait_until(lock, deadline);
    }
  }

 private:
  std::shared_ptr<LocalFabric> fabric_;
  std::shared_ptr<Group> group_;
  Half half_;
};

class LocalTransport final : public Transport {
 public:
  LocalTransport(std::shared_ptr<LocalFabric> fabric, std::shared_ptr<Group> group, int rank)
      : fabric_(std::move(fabric)), group_(std::move(group)), rank_(rank) {}

  int rank() const override { return rank_; }
  int size() const override { return static_cast<int>(group_->options.world_ranks.size()); }

  std::unique_ptr<PendingTransfer> PostSend(int peer, const MessageTag& tag, const void* data,
                                            int64_t bytes) override {
    return Post(/*is_send=*/true, rank_, peer, tag, const_cast<void*>(data), bytes);
  }
  std::unique_ptr<PendingTransfer> PostRecv(int peer, const MessageTag& tag, void* data,
                                            int64_t bytes) override {
    return Post(/*is_send=*/false, peer, rank_, tag, data, bytes);
  }

  void Abort(const absl::Status& error) override {
    std::lock_guard<std::mutex> lock(group_->mu);
    if (group_->failed[rank_].empty()) group_->failed[rank_] = std::string(error.message());
    group_->cv.notify_all();
  }

 private:
  std::unique_ptr<PendingTransfer> Post(bool is_send, int src, int dst, const MessageTag& tag,
                                        void* data, int64_t bytes) {
    Half half;
    half.is_send = is_send;
    half.src = src;
    half.dst = dst;
    half.tag = tag;
    half.data = data;
    half.bytes = bytes;
    auto transfer = std::make_unique<LocalTransfer>(fabric_, group_, half);
    transfer->Post();
    return transfer;
  }

  std::shared_ptr<LocalFabric> fabric_;
  std::shared_ptr<Group> group_;
  int rank_;
};

}  // namespace

std::shared_ptr<LocalFabric> LocalFabric::Create(int world_size, const Memory& memory) {
  SPINDLE_CHECK(world_size >= 1) << "world size " << world_size;
  return std::shared_ptr<LocalFabric>(new LocalFabric(world_size, memory));
}

LocalFabric::LocalFabric(int world_size, const Memory& memory)
    : memory_(memory), killed_(world_size) {
  for (auto& k : killed_) k.store(false);
}

bool LocalFabric::IsKilled(int world_rank) const { return killed_[world_rank].load(); }

void LocalFabric::Kill(int world_rank) {
  SPINDLE_CHECK(world_rank >= 0 && world_rank < world_size()) << "world rank " << world_rank;
  killed_[world_rank].store(true);
  std::vector<std::shared_ptr<Group>> groups;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& weak : groups_) {
      if (auto g = weak.lock()) groups.push_back(std::move(g));
    }
  }
  // Taking each group's mutex orders the store above before its waiters'
  // next check, so none sleeps through the kill.
  for (const auto& g : groups) {
    std::lock_guard<std::mutex> lock(g->mu);
    g->cv.notify_all();
  }
}

absl::StatusOr<std::unique_ptr<Communicator>> LocalFabric::Connect(
    std::vector<int> group_world_ranks, int my_world_rank, const CommOptions& options) {
  const int size = static_cast<int>(group_world_ranks.size());
  std::vector<int> sorted = group_world_ranks;
  std::sort(sorted.begin(), sorted.end());
  const auto mine = std::find(group_world_ranks.begin(), group_world_ranks.end(), my_world_rank);
  if (size == 0 || sorted.front() < 0 || sorted.back() >= world_size() ||
      std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end() ||
      mine == group_world_ranks.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "group '", options.group, "': world ranks [", absl::StrJoin(group_world_ranks, ", "),
        "] must be distinct, in [0, ", world_size(), ") and include ", my_world_rank));
  }
  if (IsKilled(my_world_rank)) {
    return absl::AbortedError(absl::StrCat("rendezvous of group '", options.group,
                                           "': this rank (world rank ", my_world_rank,
                                           ") was killed"));
  }
  const int rank = static_cast<int>(mine - group_world_ranks.begin());
  CommOptions opts = options;
  opts.world_rank = my_world_rank;
  opts.world_ranks = group_world_ranks;
  const Deadline deadline = std::chrono::steady_clock::now() + opts.timeout;

  const std::string key = absl::StrCat(opts.group, "|", absl::StrJoin(group_world_ranks, ","));
  std::shared_ptr<Group> group;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::shared_ptr<Group>>& forming = forming_[key];
    for (const auto& g : forming) {
      std::lock_guard<std::mutex> glock(g->mu);
      if (!g->closed && !g->joined[rank]) {
        group = g;
        break;
      }
    }
    if (group == nullptr) {
      group = std::make_shared<Group>();
      group->options = opts;
      group->joined.assign(size, false);
      group->failed.assign(size, "");
      forming.push_back(group);
      groups_.push_back(group);
    }
    std::lock_guard<std::mutex> glock(group->mu);
    group->joined[rank] = true;
    if (std::count(group->joined.begin(), group->joined.end(), true) == size) {
      forming.erase(std::find(forming.begin(), forming.end(), group));
    }
    group->cv.notify_all();
  }

  absl::Status failed;
  {
    std::unique_lock<std::mutex> glock(group->mu);
    while (failed.ok()) {
      std::vector<int> missing;
      for (int r = 0; r < size; ++r) {
        if (!group->joined[r]) missing.push_back(r);
      }
      if (missing.empty()) break;
      for (int r : missing) {
        if (IsKilled(group_world_ranks[r])) {
          failed = absl::UnavailableError(absl::StrCat("rendezvous of group '", opts.group,
                                                       "': ", RankName(opts, r), " was killed"));
          break;
        }
      }
      if (failed.ok() && std::chrono::steady_clock::now() >= deadline) {
        failed = RendezvousTimeout(opts, missing);
      }
      if (failed.ok()) group->cv.wait_until(glock, deadline);
    }
    if (!failed.ok()) group->closed = true;
  }
  if (!failed.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::shared_ptr<Group>>& forming = forming_[key];
    forming.erase(std::remove(forming.begin(), forming.end(), group), forming.end());
    return failed;
  }
  return std::unique_ptr<Communicator>(new P2PCommunicator(
      std::make_unique<LocalTransport>(shared_from_this(), group, rank), std::move(opts),
      memory_));
}

}  // namespace spindle::comm
