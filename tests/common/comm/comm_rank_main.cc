// One rank of gloo_process_test: forms the group "world" over Gloo TCP with a
// FileStore under --store, then
//   --mode check: runs every collective and checks closed-form results;
//   --mode loop: all-reduces and barriers until killed (touching
//     <store>/ready_<rank> after the first round);
//   --mode absent --absent_rank K: rank K exits at once, never connecting.
// Exit codes: 0 correct, 1 wrong result, 2 bad flags, 3 communicator error
// (printed as "comm error: <status>").
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "common/comm/gloo_communicator.h"
#include "tests/testing/rank_flags.h"

namespace spindle::comm {
namespace {

constexpr int kWrong = 1;
constexpr int kCommError = 3;

int Fail(const absl::Status& s) {
  std::printf("comm error: %s\n", s.ToString().c_str());
  return kCommError;
}

int Wrong(const std::string& what) {
  std::printf("wrong result: %s\n", what.c_str());
  return kWrong;
}

int Mod(int a, int p) { return ((a % p) + p) % p; }

int RunChecks(Communicator& comm) {
  const int p = comm.size();
  const int r = comm.rank();

  // Uneven all-to-all; some segments are empty.
  auto split = [](int i, int j) { return (i * 3 + j * 5) % 4; };
  std::vector<int64_t> send_bytes(p), recv_bytes(p);
  std::vector<int32_t> send, recv;
  for (int j = 0; j < p; ++j) {
    send_bytes[j] = 4 * split(r, j);
    recv_bytes[j] = 4 * split(j, r);
    for (int k = 0; k < split(r, j); ++k) send.push_back(r * 10000 + j * 100 + k);
    recv.resize(recv.size() + split(j, r), -1);
  }
  if (absl::Status s = comm.AllToAll(send.data(), send_bytes, recv.data(), recv_bytes); !s.ok()) {
    return Fail(s);
  }
  for (int i = 0, at = 0; i < p; ++i) {
    for (int k = 0; k < split(i, r); ++k, ++at) {
      if (recv[at] != i * 10000 + r * 100 + k)
        return Wrong("all_to_all from rank " + std::to_string(i));
    }
  }

  // All-reduce: int64 sums beyond 2^53, float max; counts below and above P.
  for (int64_t n : {int64_t{1}, int64_t{p + 1}, int64_t{50021}}) {
    std::vector<int64_t> sum(n);
    std::vector<float> max(n);
    for (int64_t k = 0; k < n; ++k) {
      sum[k] = (int64_t{1} << 55) + (r + 1) * k;
      max[k] = static_cast<float>((r + k) % p);
    }
    if (absl::Status s = comm.AllReduce(sum.data(), n, DType::kInt64, ReduceOp::kSum); !s.ok()) {
      return Fail(s);
    }
    if (absl::Status s = comm.AllReduce(max.data(), n, DType::kFloat32, ReduceOp::kMax); !s.ok()) {
      return Fail(s);
    }
    for (int64_t k = 0; k < n; ++k) {
      if (sum[k] != p * (int64_t{1} << 55) + k * p * (p + 1) / 2) return Wrong("all_reduce sum");
      if (max[k] != static_cast<float>(p - 1)) return Wrong("all_reduce max");
    }
  }

  // All-gather of 1001 bytes per rank.
  std::vector<uint8_t> mine(1001), all(1001 * p);
  for (int k = 0; k < 1001; ++k) mine[k] = static_cast<uint8_t>(r * 7 + k);
  if (absl::Status s = comm.AllGather(mine.data(), 1001, all.data()); !s.ok()) return Fail(s);
  for (int i = 0; i < p; ++i) {
    for (int k = 0; k < 1001; ++k) {
      if (all[i * 1001 + k] != static_cast<uint8_t>(i * 7 + k)) return Wrong("all_gather");
    }
  }

  // Broadcast from every root.
  for (int root = 0; root < p; ++root) {
    std::vector<uint8_t> data(777, 0);
    if (r == root) {
      for (int k = 0; k < 777; ++k) data[k] = static_cast<uint8_t>(root + 3 * k);
    }
    if (absl::Status s = comm.Broadcast(data.data(), 777, root); !s.ok()) return Fail(s);
    for (int k = 0; k < 777; ++k) {
      if (data[k] != static_cast<uint8_t>(root + 3 * k)) return Wrong("broadcast");
    }
  }

  // One ring step with two messages to the same peer.
  if (p > 1) {
    int32_t out[2] = {r * 10 + 1, r * 10 + 2};
    int32_t in[2] = {-1, -1};
    const P2POp ops[] = {P2POp::Send((r + 1) % p, &out[0], 4), P2POp::Send((r + 1) % p, &out[1], 4),
                         P2POp::Recv(Mod(r - 1, p), &in[0], 4),
                         P2POp::Recv(Mod(r - 1, p), &in[1], 4)};
    auto batch = comm.StartSendRecv(ops);
    if (!batch.ok()) return Fail(batch.status());
    if (absl::Status s = (*batch)->Wait(); !s.ok()) return Fail(s);
    const int prev = Mod(r - 1, p);
    if (in[0] != prev * 10 + 1 || in[1] != prev * 10 + 2) return Wrong("send_recv order");
  }

  if (absl::Status s = comm.Barrier(); !s.ok()) return Fail(s);
  return 0;
}

int RunLoop(Communicator& comm, const std::string& store_dir) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int round = 0; std::chrono::steady_clock::now() < end; ++round) {
    std::vector<float> data(4096, 1.0f);
    if (absl::Status s = comm.AllReduce(data.data(), 4096, DType::kFloat32, ReduceOp::kSum);
        !s.ok()) {
      return Fail(s);
    }
    if (data[0] != static_cast<float>(comm.size())) return Wrong("all_reduce in loop");
    if (absl::Status s = comm.Barrier(); !s.ok()) return Fail(s);
    if (round == 0) std::ofstream(store_dir + "/ready_" + std::to_string(comm.rank())) << "1";
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return 0;
}

int Main(int argc, char** argv) {
  auto flags = testing::InitRank(argc, argv);
  if (!flags.ok()) {
    std::printf("%s\n", flags.status().ToString().c_str());
    return 2;
  }
  std::string mode = "check";
  int timeout_ms = 10000;
  int absent_rank = -1;
  for (size_t i = 0; i + 1 < flags->rest.size(); i += 2) {
    const std::string& key = flags->rest[i];
    const std::string& value = flags->rest[i + 1];
    const bool ok = key == "--mode"          ? (mode = value, true)
                    : key == "--timeout_ms"  ? absl::SimpleAtoi(value, &timeout_ms)
                    : key == "--absent_rank" ? absl::SimpleAtoi(value, &absent_rank)
                                             : false;
    if (!ok) {
      std::printf("bad flag %s %s\n", key.c_str(), value.c_str());
      return 2;
    }
  }
  if (mode == "absent" && flags->rank == absent_rank) return 0;

  auto store = MakeFileStore(flags->store + "/rendezvous");
  if (!store.ok()) return Fail(store.status());
  CommOptions options;
  options.group = "world";
  options.world_rank = flags->rank;
  options.timeout = std::chrono::milliseconds(timeout_ms);
  auto comm = CreateGlooCommunicator(**store, flags->rank, flags->world, options);
  if (!comm.ok()) return Fail(comm.status());
  return mode == "loop" ? RunLoop(**comm, flags->store) : RunChecks(**comm);
}

}  // namespace
}  // namespace spindle::comm

int main(int argc, char** argv) {
  const int code = spindle::comm::Main(argc, argv);
  std::fflush(stdout);
  return code;
}
