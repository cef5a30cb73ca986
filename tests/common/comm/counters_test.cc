// Traffic counters equal the formulas documented in p2p_communicator.h
// ([Traffic formulas]) exactly, per op and per rank, on both backends.
#include <chrono>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "tests/common/comm/comm_test_util.h"

namespace spindle::comm {
namespace {

struct Expected {
  int64_t messages_sent;
  int64_t bytes_sent;
  int64_t bytes_received;
};

// Runs `call` and checks that exactly one call of `op` with `want` traffic
// was added, and nothing to any other op.
template <typename F>
void ExpectTraffic(Communicator& comm, Op op, Expected want, F call) {
  const CommCounters before = comm.counters();
  ASSERT_TRUE(call().ok()) << OpName(op);
  const CommCounters d = comm.counters() - before;
  for (int i = 0; i < kNumOps; ++i) {
    const OpCounters& got = d.ops[i];
    if (static_cast<Op>(i) != op) {
      EXPECT_EQ(got.calls + got.messages_sent + got.bytes_sent + got.bytes_received, 0)
          << OpName(static_cast<Op>(i)) << " moved during " << OpName(op);
      continue;
    }
    EXPECT_EQ(got.calls, 1) << OpName(op);
    EXPECT_EQ(got.messages_sent, want.messages_sent) << OpName(op);
    EXPECT_EQ(got.bytes_sent, want.bytes_sent) << OpName(op);
    EXPECT_EQ(got.bytes_received, want.bytes_received) << OpName(op);
  }
  EXPECT_EQ(d.TotalBytesSent(), want.bytes_sent);
  EXPECT_EQ(d.TotalBytesReceived(), want.bytes_received);
}

int Mod(int a, int p) { return ((a % p) + p) % p; }

class CountersTest : public ::testing::TestWithParam<std::tuple<Backend, int>> {};

TEST_P(CountersTest, EveryOpMatchesItsFormula) {
  const Backend backend = std::get<0>(GetParam());
  const int p = std::get<1>(GetParam());
  CommOptions options;
  options.group = "counters";
  options.timeout = std::chrono::seconds(20);
  RunGroup(backend, p, options, [&](Communicator& comm) {
    const int r = comm.rank();

    // send_recv: #sends messages, their bytes out, the receives' bytes in.
    {
      std::vector<char> a(20), b(12), in_a(20), in_b(12);
      std::vector<P2POp> ops;
      if (p > 1) {
        ops = {P2POp::Send((r + 1) % p, a.data(), 20), P2POp::Send((r + 1) % p, b.data(), 12),
               P2POp::Recv(Mod(r - 1, p), in_a.data(), 20),
               P2POp::Recv(Mod(r - 1, p), in_b.data(), 12)};
      }
      const Expected want = p > 1 ? Expected{2, 32, 32} : Expected{0, 0, 0};
      ExpectTraffic(comm, Op::kSendRecv, want, [&] {
        auto batch = comm.StartSendRecv(ops);
        return batch.ok() ? (*batch)->Wait() : batch.status();
      });
    }

    // all_to_all: P-1 messages (zero-byte ones too); the self segment is no traffic.
    {
      auto split = [](int i, int j) { return int64_t{(i * 3 + j * 5) % 4 * 8}; };
      std::vector<int64_t> send_bytes(p), recv_bytes(p);
      Expected want{p - 1, 0, 0};
      for (int j = 0; j < p; ++j) {
        send_bytes[j] = split(r, j);
        recv_bytes[j] = split(j, r);
        if (j != r) {
          want.bytes_sent += send_bytes[j];
          want.bytes_received += recv_bytes[j];
        }
      }
      std::vector<char> send(64 * p), recv(64 * p);
      ExpectTraffic(comm, Op::kAllToAll, want, [&] {
        return comm.AllToAll(send.data(), send_bytes, recv.data(), recv_bytes);
      });
    }

    // all_reduce: 2(P-1) messages; E(2n - c(r+1) - c(r+2)) out, E(2n - c(r) - c(r+1)) in.
    for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{p - 1}, int64_t{p + 1}, int64_t{1001}}) {
      auto c = [&](int k) { return n / p + (Mod(k, p) < n % p ? 1 : 0); };
      const Expected want = p == 1 ? Expected{0, 0, 0}
                                   : Expected{2 * (p - 1), 8 * (2 * n - c(r + 1) - c(r + 2)),
                                              8 * (2 * n - c(r) - c(r + 1))};
      std::vector<double> data(n, 1.0);
      ExpectTraffic(comm, Op::kAllReduce, want, [&] {
        return comm.AllReduce(data.data(), n, DType::kFloat64, ReduceOp::kSum);
      });
    }

    // all_gather: (P-1)B each way in P-1 messages.
    {
      std::vector<char> send(13), recv(13 * p);
      ExpectTraffic(comm, Op::kAllGather, {p - 1, (p - 1) * 13, (p - 1) * 13},
                    [&] { return comm.AllGather(send.data(), 13, recv.data()); });
    }

    // broadcast: the root sends (P-1)B in P-1 messages; every other rank receives B.
    for (int root = 0; root < p; ++root) {
      std::vector<char> data(100);
      const Expected want = r == root ? Expected{p - 1, (p - 1) * 100, 0} : Expected{0, 0, 100};
      ExpectTraffic(comm, Op::kBroadcast, want,
                    [&] { return comm.Broadcast(data.data(), 100, root); });
    }

    // barrier: ceil(log2 P) empty messages.
    {
      int64_t rounds = 0;
      while ((int64_t{1} << rounds) < p) ++rounds;
      ExpectTraffic(comm, Op::kBarrier, {rounds, 0, 0}, [&] { return comm.Barrier(); });
    }
  });
}

// Worked values of the all-reduce formula, P = 3, n = 7 (chunks 3, 2, 2), 4-byte elements:
// rank 0 sends 4(14 - 2 - 2) = 40 and receives 4(14 - 3 - 2) = 36.
TEST(CountersWorkedExample, AllReduceUnevenChunks) {
  CommOptions options;
  options.timeout = std::chrono::seconds(20);
  std::vector<CommCounters> got(3);
  RunGroup(Backend::kLocal, 3, options, [&](Communicator& comm) {
    std::vector<float> data(7, 1.0f);
    ASSERT_TRUE(comm.AllReduce(data.data(), 7, DType::kFloat32, ReduceOp::kSum).ok());
    got[comm.rank()] = comm.counters();
  });
  const int64_t sent[3] = {40, 36, 36};      // c(r+1) + c(r+2): 4, 5, 5 elements skipped
  const int64_t received[3] = {36, 40, 36};  // c(r) + c(r+1): 5, 4, 5
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(got[r][Op::kAllReduce].bytes_sent, sent[r]) << "rank " << r;
    EXPECT_EQ(got[r][Op::kAllReduce].bytes_received, received[r]) << "rank " << r;
    EXPECT_EQ(got[r][Op::kAllReduce].messages_sent, 4) << "rank " << r;
  }
}

std::string ParamName(const ::testing::TestParamInfo<std::tuple<Backend, int>>& info) {
  return BackendName(std::get<0>(info.param)) + "P" + std::to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Sizes, CountersTest,
                         ::testing::Combine(::testing::Values(Backend::kLocal, Backend::kGloo),
                                            ::testing::Values(1, 2, 3, 4, 7)),
                         ParamName);

}  // namespace
}  // namespace spindle::comm
