// Every operation on both backends and world sizes {1, 2, 3, 4, 7}, checked
// per element against closed forms (a wrong offset or peer shows up exactly).
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "tests/common/comm/comm_test_util.h"

namespace spindle::comm {
namespace {

class CollectivesTest : public ::testing::TestWithParam<std::tuple<Backend, int>> {
 protected:
  Backend backend() const { return std::get<0>(GetParam()); }
  int p() const { return std::get<1>(GetParam()); }
  void Run(const std::function<void(Communicator&)>& body) {
    CommOptions options;
    options.group = "collectives";
    options.timeout = std::chrono::seconds(20);
    RunGroup(backend(), p(), options, body);
  }
};

// kSplits[P][i][j]: int32 elements rank i sends rank j in the all-to-all.
const std::vector<std::vector<int>>& Splits(int p) {
  static const std::vector<std::vector<std::vector<int>>> kSplits = {
      {},
      {{5}},
      {{3, 0},  //
       {1, 4}},
      {{0, 2, 5},  //
       {1, 0, 0},
       {4, 3, 2}},
      {{1, 0, 3, 2},  //
       {0, 0, 0, 7},
       {5, 1, 0, 0},
       {2, 6, 1, 3}},
      {},
      {},
      {{0, 1, 2, 0, 3, 1, 0},  //
       {4, 0, 0, 1, 0, 2, 5},
       {1, 1, 1, 1, 1, 1, 1},
       {0, 0, 0, 0, 0, 0, 0},
       {2, 0, 3, 0, 6, 0, 1},
       {0, 9, 0, 0, 2, 0, 3},
       {3, 0, 1, 4, 0, 2, 0}},
  };
  return kSplits[p];
}

// Element k of the segment rank `src` sends rank `dst`.
int32_t A2AValue(int src, int dst, int k) { return src * 1000000 + dst * 10000 + k; }

TEST_P(CollectivesTest, AllToAllUnevenSplits) {
  const auto& split = Splits(p());
  Run([&](Communicator& comm) {
    const int r = comm.rank();
    std::vector<int64_t> send_bytes(p()), recv_bytes(p());
    std::vector<int32_t> send, recv;
    for (int j = 0; j < p(); ++j) {
      send_bytes[j] = 4 * split[r][j];
      recv_bytes[j] = 4 * split[j][r];
      for (int k = 0; k < split[r][j]; ++k) send.push_back(A2AValue(r, j, k));
    }
    int64_t recv_total = 0;
    for (int64_t b : recv_bytes) recv_total += b / 4;
    recv.assign(recv_total, -1);
    ASSERT_TRUE(comm.AllToAll(send.data(), send_bytes, recv.data(), recv_bytes).ok());
    size_t at = 0;
    for (int i = 0; i < p(); ++i) {
      for (int k = 0; k < split[i][r]; ++k, ++at) {
        ASSERT_EQ(recv[at], A2AValue(i, r, k)) << "from rank " << i << " element " << k;
      }
    }
  });
}

// Exact in every dtype: small integers.
double ReduceInput(int r, int64_t k, int p, ReduceOp op) {
  if (op == ReduceOp::kSum) return (r + 1) * (k % 13 + 1);
  return ((r + k) % p) * 3 - (k % 5);
}
double ReduceExpected(int64_t k, int p, ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return (k % 13 + 1) * p * (p + 1) / 2;
    case ReduceOp::kMax:
      return (p - 1) * 3 - (k % 5);
    case ReduceOp::kMin:
      return -(k % 5);
  }
  return 0;
}

template <typename T>
void CheckAllReduce(Communicator& comm, DType dtype, ReduceOp op, int64_t count,
                    std::vector<char>* result) {
  const int p = comm.size();
  // int64 sums above 2^53 show a reduction done in floating point.
  const int64_t big = dtype == DType::kInt64 && op == ReduceOp::kSum ? (int64_t{1} << 55) : 0;
  std::vector<T> data(count);
  for (int64_t k = 0; k < count; ++k) {
    data[k] = static_cast<T>(ReduceInput(comm.rank(), k, p, op)) + static_cast<T>(big);
  }
  ASSERT_TRUE(comm.AllReduce(data.data(), count, dtype, op).ok());
  const int64_t big_sum = big * p;
  for (int64_t k = 0; k < count; ++k) {
    ASSERT_EQ(data[k], static_cast<T>(ReduceExpected(k, p, op)) + static_cast<T>(big_sum))
        << "element " << k << " of " << count;
  }
  result->assign(reinterpret_cast<char*>(data.data()),
                 reinterpret_cast<char*>(data.data() + count));
}

TEST_P(CollectivesTest, AllReduceEveryOpDtypeAndCount) {
  const std::vector<int64_t> counts = {0, 1, p() - 1, p() + 1, 100003};
  const std::vector<DType> dtypes = {DType::kFloat32, DType::kFloat64, DType::kInt64};
  const std::vector<ReduceOp> ops = {ReduceOp::kSum, ReduceOp::kMax, ReduceOp::kMin};
  const size_t cases = counts.size() * dtypes.size() * ops.size();
  std::vector<std::vector<std::vector<char>>> results(p(), std::vector<std::vector<char>>(cases));
  Run([&](Communicator& comm) {
    size_t c = 0;
    for (DType dtype : dtypes) {
      for (ReduceOp op : ops) {
        for (int64_t count : counts) {
          SCOPED_TRACE(testing::Message() << "dtype " << static_cast<int>(dtype) << " op "
                                          << static_cast<int>(op) << " count " << count);
          std::vector<char>* out = &results[comm.rank()][c++];
          switch (dtype) {
            case DType::kFloat32:
              CheckAllReduce<float>(comm, dtype, op, count, out);
              break;
            case DType::kFloat64:
              CheckAllReduce<double>(comm, dtype, op, count, out);
              break;
            case DType::kInt64:
              CheckAllReduce<int64_t>(comm, dtype, op, count, out);
              break;
          }
        }
      }
    }
  });
  for (int r = 1; r < p(); ++r) EXPECT_EQ(results[r], results[0]) << "rank " << r;
}

// Inexact float sums: every rank must hold the same bits, close to the sum.
TEST_P(CollectivesTest, AllReduceFloatSumBitwiseEqualAcrossRanks) {
  const int64_t count = 40009;
  std::vector<std::vector<float>> results(p());
  Run([&](Communicator& comm) {
    std::vector<float> data(count);
    for (int64_t k = 0; k < count; ++k) data[k] = 1.0f / (comm.rank() + 3) + k * 1e-4f;
    ASSERT_TRUE(comm.AllReduce(data.data(), count, DType::kFloat32, ReduceOp::kSum).ok());
    results[comm.rank()] = data;
  });
  for (int64_t k = 0; k < count; ++k) {
    double want = 0;
    for (int r = 0; r < p(); ++r) want += static_cast<double>(1.0f / (r + 3) + k * 1e-4f);
    ASSERT_NEAR(results[0][k], want, 1e-5 * std::abs(want) + 1e-6) << "element " << k;
  }
  for (int r = 1; r < p(); ++r) {
    EXPECT_EQ(std::memcmp(results[r].data(), results[0].data(), count * sizeof(float)), 0)
        << "rank " << r;
  }
}

uint8_t GatherByte(int rank, int64_t k) { return static_cast<uint8_t>(rank * 16 + k * 3 + 1); }

TEST_P(CollectivesTest, AllGather) {
  Run([&](Communicator& comm) {
    const int r = comm.rank();
    for (int64_t bytes : {0, 1, 13, 4099}) {
      std::vector<uint8_t> send(bytes), recv(bytes * p(), 0xEE);
      for (int64_t k = 0; k < bytes; ++k) send[k] = GatherByte(r, k);
      ASSERT_TRUE(comm.AllGather(send.data(), bytes, recv.data()).ok());
      for (int i = 0; i < p(); ++i) {
        for (int64_t k = 0; k < bytes; ++k) {
          ASSERT_EQ(recv[i * bytes + k], GatherByte(i, k)) << "block " << i << " byte " << k;
        }
      }
      // In place: this rank's block already sits at its offset.
      std::vector<uint8_t> inplace(bytes * p(), 0xEE);
      for (int64_t k = 0; k < bytes; ++k) inplace[r * bytes + k] = GatherByte(r, k);
      ASSERT_TRUE(comm.AllGather(inplace.data() + r * bytes, bytes, inplace.data()).ok());
      EXPECT_EQ(inplace, recv);
    }
  });
}

TEST_P(CollectivesTest, BroadcastFromEveryRoot) {
  Run([&](Communicator& comm) {
    for (int root = 0; root < p(); ++root) {
      for (int64_t bytes : {0, 1, 1000, 65543}) {
        std::vector<uint8_t> data(bytes, 0xEE);
        if (comm.rank() == root) {
          for (int64_t k = 0; k < bytes; ++k) data[k] = static_cast<uint8_t>(root * 13 + k);
        }
        ASSERT_TRUE(comm.Broadcast(data.data(), bytes, root).ok());
        for (int64_t k = 0; k < bytes; ++k) {
          ASSERT_EQ(data[k], static_cast<uint8_t>(root * 13 + k))
              << "root " << root << " byte " << k;
        }
      }
    }
  });
}

TEST_P(CollectivesTest, BarrierHoldsEveryRankUntilAllArrive) {
  constexpr int kRounds = 5;
  std::vector<std::atomic<int>> arrived(p());
  for (auto& a : arrived) a.store(0);
  Run([&](Communicator& comm) {
    for (int round = 1; round <= kRounds; ++round) {
      // Stagger arrivals so a barrier that lets a rank through early is seen.
      std::this_thread::sleep_for(std::chrono::milliseconds(((comm.rank() + round) % 3) * 5));
      arrived[comm.rank()].store(round);
      ASSERT_TRUE(comm.Barrier().ok());
      for (int i = 0; i < p(); ++i) {
        ASSERT_GE(arrived[i].load(), round) << "rank " << i << " in round " << round;
      }
      ASSERT_TRUE(comm.Barrier().ok());  // nobody starts the next round early
    }
  });
}

int32_t RingValue(int from, int message, int k) { return from * 1000 + message * 100 + k; }

// One ring step: two messages (kv then dkv) to the next rank in one batch,
// matched in listed order, including two of equal size.
TEST_P(CollectivesTest, BatchedRingSendRecvMatchesInListedOrder) {
  if (p() == 1) GTEST_SKIP() << "no peer";
  Run([&](Communicator& comm) {
    const int r = comm.rank();
    const int next = (r + 1) % p();
    const int prev = (r + p() - 1) % p();
    for (const auto& sizes : {std::vector<int>{5, 3}, std::vector<int>{4, 4}, {0, 6}}) {
      std::vector<std::vector<int32_t>> out(2), in(2);
      for (int m = 0; m < 2; ++m) {
        for (int k = 0; k < sizes[m]; ++k) out[m].push_back(RingValue(r, m, k));
        in[m].assign(sizes[m], -1);
      }
      std::vector<P2POp> ops = {P2POp::Send(next, out[0].data(), 4 * sizes[0]),
                                P2POp::Recv(prev, in[0].data(), 4 * sizes[0]),
                                P2POp::Send(next, out[1].data(), 4 * sizes[1]),
                                P2POp::Recv(prev, in[1].data(), 4 * sizes[1])};
      auto batch = comm.StartSendRecv(ops);
      ASSERT_TRUE(batch.ok()) << batch.status();
      ASSERT_TRUE((*batch)->Wait().ok());
      EXPECT_TRUE((*batch)->Wait().ok());  // a second Wait returns the same result
      for (int m = 0; m < 2; ++m) {
        for (int k = 0; k < sizes[m]; ++k) {
          ASSERT_EQ(in[m][k], RingValue(prev, m, k)) << "message " << m << " element " << k;
        }
      }
    }
  });
}

// Every rank exchanges with every other in one batch; destroying the batch
// without Wait also completes it.
TEST_P(CollectivesTest, BatchWithEveryPeerCompletesOnDestruction) {
  Run([&](Communicator& comm) {
    const int r = comm.rank();
    std::vector<int32_t> out(p()), in(p(), -1);
    std::vector<P2POp> ops;
    for (int j = 0; j < p(); ++j) {
      if (j == r) continue;
      out[j] = r * 100 + j;
      ops.push_back(P2POp::Recv(j, &in[j], 4));
      ops.push_back(P2POp::Send(j, &out[j], 4));
    }
    {
      auto batch = comm.StartSendRecv(ops);
      ASSERT_TRUE(batch.ok()) << batch.status();
    }
    for (int j = 0; j < p(); ++j) {
      if (j != r) {
        EXPECT_EQ(in[j], j * 100 + r) << "from rank " << j;
      }
    }
    EXPECT_TRUE(comm.Barrier().ok());
  });
}

std::string ParamName(const ::testing::TestParamInfo<std::tuple<Backend, int>>& info) {
  return BackendName(std::get<0>(info.param)) + "P" + std::to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Sizes, CollectivesTest,
                         ::testing::Combine(::testing::Values(Backend::kLocal, Backend::kGloo),
                                            ::testing::Values(1, 2, 3, 4, 7)),
                         ParamName);

}  // namespace
}  // namespace spindle::comm
