#include "common/comm/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/comm/errors.h"

namespace spindle::comm {
namespace {

using Clock = std::chrono::steady_clock;

absl::Status CudaError(cudaError_t e, const char* what) {
  return absl::InternalError(absl::StrCat(what, ": ", cudaGetErrorString(e)));
}

ncclDataType_t NcclType(DType t) {
  switch (t) {
    case DType::kFloat32: return ncclFloat32;
    case DType::kFloat64: return ncclFloat64;
    case DType::kInt64: return ncclInt64;
  }
  return ncclInt8;
}

ncclRedOp_t NcclOp(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return ncclSum;
    case ReduceOp::kMax: return ncclMax;
    case ReduceOp::kMin: return ncclMin;
  }
  return ncclSum;
}

// Pageable or pinned host memory, which NCCL cannot read or write.
bool IsHostPointer(const void* p) {
  cudaPointerAttributes a{};
  if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
    (void)cudaGetLastError();  // so the next CUDA call does not report this one
    return true;
  }
  return a.type == cudaMemoryTypeUnregistered || a.type == cudaMemoryTypeHost;
}

// Polls NCCL's asynchronous state of `comm` until no operation is being
// enqueued (non-blocking communicators return ncclInProgress from calls).
absl::Status AwaitEnqueued(ncclComm_t comm, Clock::time_point deadline, const std::string& what) {
  for (;;) {
    ncclResult_t state = ncclSuccess;
    const ncclResult_t r = ncclCommGetAsyncError(comm, &state);
    if (r != ncclSuccess) state = r;
    if (state == ncclSuccess) return absl::OkStatus();
    if (state != ncclInProgress) {
      return absl::InternalError(absl::StrCat(what, ": NCCL ", ncclGetErrorString(state), ": ",
                                              ncclGetLastError(comm)));
    }
    if (Clock::now() > deadline) return absl::DeadlineExceededError(what);
    std::this_thread::yield();
  }
}

class NcclCommunicator;

// A send/recv batch or an all-reduce in flight: completes when its event
// fires on the communicator's stream.
class NcclBatch final : public PendingBatch {
 public:
  NcclBatch(NcclCommunicator* comm, Op op, cudaEvent_t done, Clock::time_point deadline,
            std::vector<int> peers)
      : comm_(comm), op_(op), done_(done), deadline_(deadline), peers_(std::move(peers)) {}
  ~NcclBatch() override {
    if (!waited_) (void)Wait();
  }
  absl::Status Wait() override;

 private:
  NcclCommunicator* comm_;
  Op op_;
  cudaEvent_t done_;
  Clock::time_point deadline_;
  std::vector<int> peers_;  // empty: every rank of the group
  bool waited_ = false;
  absl::Status result_;
};

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(ncclComm_t comm, cudaStream_t stream, int rank, int size, CommOptions options,
                   NcclOptions nccl)
      : comm_(comm), stream_(stream), rank_(rank), size_(size), options_(std::move(options)),
        nccl_(std::move(nccl)) {
    cudaEventCreateWithFlags(&produced_, cudaEventDisableTiming);
  }
  ~NcclCommunicator() override {
    if (broken_.ok()) {
      ncclCommFinalize(comm_);
      // A finalize that cannot finish (a peer is gone) would make Destroy wait
      // for ever; Abort does not.
      if (AwaitEnqueued(comm_, Clock::now() + options_.timeout, "finalize").ok()) {
        ncclCommDestroy(comm_);
      } else {
        ncclCommAbort(comm_);
      }
    }
    cudaFree(barrier_buf_);
    cudaFree(device_stage_);
    cudaFreeHost(host_stage_);
    cudaEventDestroy(produced_);
    cudaStreamDestroy(stream_);
  }

  // Once, by CreateNcclCommunicator.
  absl::Status AllocateStaging() {
    if (cudaError_t e = cudaMalloc(&device_stage_, kHostStageBytes); e != cudaSuccess) {
      return CudaError(e, "nccl: device staging of host buffers");
    }
    if (cudaError_t e = cudaMallocHost(&host_stage_, kHostStageBytes); e != cudaSuccess) {
      return CudaError(e, "nccl: pinned staging of host buffers");
    }
    return absl::OkStatus();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const CommOptions& options() const override { return options_; }
  const CommCounters& counters() const override { return counters_; }
  int64_t sequence() const override { return sequence_.load(); }

  absl::StatusOr<std::unique_ptr<PendingBatch>> StartSendRecv(absl::Span<const P2POp> ops) override {
    auto& c = counters_[Op::kSendRecv];
    ++c.calls;
    if (!broken_.ok()) return broken_;
    std::vector<int> peers;
    for (const P2POp& op : ops) {
      if (op.peer < 0 || op.peer >= size_ || op.peer == rank_) {
        return absl::InvalidArgumentError(absl::StrCat("send_recv in group '", options_.group,
                                                       "': peer ", op.peer, " is not another rank"));
      }
      peers.push_back(op.peer);
    }
    if (auto s = Enqueue(Op::kSendRecv, [&] {
          ncclGroupStart();
          for (const P2POp& op : ops) {
            if (op.kind == P2POp::Kind::kSend) {
              ncclSend(op.data, op.bytes, ncclInt8, op.peer, comm_, stream_);
            } else {
              ncclRecv(op.data, op.bytes, ncclInt8, op.peer, comm_, stream_);
            }
          }
          return ncclGroupEnd();
        });
        !s.ok()) {
      return s;
    }
    for (const P2POp& op : ops) {
      if (op.kind == P2POp::Kind::kSend) {
        ++c.messages_sent;
        c.bytes_sent += op.bytes;
      } else {
        c.bytes_received += op.bytes;
      }
    }
    return InFlight(Op::kSendRecv, std::move(peers));
  }

  absl::Status AllToAll(const void* send, absl::Span<const int64_t> send_bytes, void* recv,
                        absl::Span<const int64_t> recv_bytes) override {
    if (static_cast<int>(send_bytes.size()) != size_ || static_cast<int>(recv_bytes.size()) != size_) {
      return absl::InvalidArgumentError("all_to_all: one size per rank");
    }
    auto& c = counters_[Op::kAllToAll];
    int64_t so = 0, ro = 0;
    std::vector<int64_t> send_off, recv_off;
    for (int r = 0; r < size_; ++r) {
      send_off.push_back(so);
      recv_off.push_back(ro);
      so += send_bytes[r];
      ro += recv_bytes[r];
      if (r != rank_) {
        c.messages_sent += send_bytes[r] > 0;
        c.bytes_sent += send_bytes[r];
        c.bytes_received += recv_bytes[r];
      }
    }
    const char* in = static_cast<const char*>(send);
    char* out = static_cast<char*>(recv);
    return Collective(Op::kAllToAll, [&] {
      ncclGroupStart();
      for (int r = 0; r < size_; ++r) {
        // Self segment as a send/recv to self keeps it in the same group call.
        if (send_bytes[r] > 0) ncclSend(in + send_off[r], send_bytes[r], ncclInt8, r, comm_, stream_);
        if (recv_bytes[r] > 0) ncclRecv(out + recv_off[r], recv_bytes[r], ncclInt8, r, comm_, stream_);
      }
      return ncclGroupEnd();
    });
  }

  absl::Status AllReduce(void* data, int64_t count, DType dtype, ReduceOp op) override {
    CountAllReduce(count, dtype);
    const int64_t buffer = count * DTypeSize(dtype);
    return Staged(Op::kAllReduce, data, buffer, data, buffer, 0, [&](const void* in, void* out) {
      return ncclAllReduce(in, out, count, NcclType(dtype), NcclOp(op), comm_, stream_);
    });
  }

  absl::StatusOr<std::unique_ptr<PendingBatch>> StartAllReduce(void* data, int64_t count,
                                                               DType dtype, ReduceOp op) override {
    ++counters_[Op::kAllReduce].calls;
    if (!broken_.ok()) return broken_;
    if (IsHostPointer(data)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "all_reduce in group '", options_.group,
          "': an all-reduce left in flight needs device memory; use AllReduce for host buffers"));
    }
    CountAllReduce(count, dtype);
    if (auto s = Enqueue(Op::kAllReduce, [&] {
          return ncclAllReduce(data, data, count, NcclType(dtype), NcclOp(op), comm_, stream_);
        });
        !s.ok()) {
      return s;
    }
    return InFlight(Op::kAllReduce, {});
  }

  bool StartsWithoutBlocking() const override { return true; }

  absl::Status AllGather(const void* send, int64_t bytes, void* recv) override {
    auto& c = counters_[Op::kAllGather];
    c.bytes_sent += bytes * (size_ - 1);
    c.bytes_received += bytes * (size_ - 1);
    c.messages_sent += size_ - 1;
    // Staged, the send segment sits at its place in the output (NCCL's
    // in-place all-gather).
    return Staged(Op::kAllGather, send, bytes, recv, bytes * size_, bytes * rank_,
                  [&](const void* in, void* out) {
                    return ncclAllGather(in, out, bytes, ncclInt8, comm_, stream_);
                  });
  }

  absl::Status Broadcast(void* data, int64_t bytes, int root) override {
    auto& c = counters_[Op::kBroadcast];
    if (rank_ == root) {
      c.bytes_sent += bytes * (size_ - 1);
      c.messages_sent += size_ - 1;
    } else {
      c.bytes_received += bytes;
    }
    return Staged(Op::kBroadcast, data, bytes, data, bytes, 0, [&](const void* in, void* out) {
      return ncclBroadcast(in, out, bytes, ncclInt8, root, comm_, stream_);
    });
  }

  absl::Status Barrier() override {
    if (barrier_buf_ == nullptr) {
      if (cudaError_t e = cudaMalloc(&barrier_buf_, sizeof(float)); e != cudaSuccess) {
        return CudaError(e, "barrier buffer");
      }
    }
    return Collective(Op::kBarrier, [&] {
      return ncclAllReduce(barrier_buf_, barrier_buf_, 1, ncclFloat32, ncclSum, comm_, stream_);
    });
  }

  // Waits for `done` (recorded on the comm stream) against `deadline`; on
  // success the compute stream waits for it, on timeout the communicator is
  // aborted.
  absl::Status AwaitEvent(cudaEvent_t done, Clock::time_point deadline, Op op,
                          const std::vector<int>& peers) {
    if (!broken_.ok()) {  // aborted meanwhile (another batch timed out): comm_ is gone
      cudaEventDestroy(done);
      return broken_;
    }
    cudaSetDevice(nccl_.device);
    const auto start = Clock::now();
    absl::Status s;
    for (;;) {
      const cudaError_t e = cudaEventQuery(done);
      if (e == cudaSuccess) break;
      if (e != cudaErrorNotReady) {
        s = CudaError(e, OpName(op));
        break;
      }
      ncclResult_t state = ncclSuccess;
      ncclCommGetAsyncError(comm_, &state);
      if (state != ncclSuccess && state != ncclInProgress) {
        s = absl::InternalError(absl::StrCat(OpName(op), " in group '", options_.group, "': NCCL ",
                                             ncclGetErrorString(state), ": ",
                                             ncclGetLastError(comm_)));
        break;
      }
      if (Clock::now() > deadline) {
        std::string who;
        for (int p : peers) absl::StrAppend(&who, who.empty() ? "" : ", ", RankName(options_, p));
        s = absl::DeadlineExceededError(absl::StrCat(
            OpName(op), " in group '", options_.group, "' did not complete within ",
            FormatTimeout(options_.timeout), " (peers: ", who.empty() ? "all ranks" : who,
            "); the communicator was aborted"));
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
    counters_[op].wait_seconds += std::chrono::duration<double>(Clock::now() - start).count();
    if (s.ok()) {
      // Consumers on the compute stream must not run before the data lands.
      if (cudaError_t e = cudaStreamWaitEvent(ComputeStream(), done, 0); e != cudaSuccess) {
        s = CudaError(e, OpName(op));
      }
    }
    if (!s.ok()) Break(s);
    cudaEventDestroy(done);
    return s;
  }

 private:
  cudaStream_t ComputeStream() const {
    return nccl_.compute_stream ? static_cast<cudaStream_t>(nccl_.compute_stream()) : nullptr;
  }

  // Orders the comm stream after the compute stream's queued work, then runs
  // `issue` (which enqueues NCCL calls) and waits until NCCL took them.
  template <typename Issue>
  absl::Status Enqueue(Op op, Issue issue) {
    // The caller may be any thread (the gradient reducer has its own); events
    // and streams belong to this communicator's device.
    cudaSetDevice(nccl_.device);
    ++sequence_;
    cudaError_t e = cudaEventRecord(produced_, ComputeStream());
    if (e == cudaSuccess) e = cudaStreamWaitEvent(stream_, produced_, 0);
    if (e != cudaSuccess) return Broken(CudaError(e, InGroup(op).c_str()));
    const ncclResult_t r = issue();
    if (r != ncclSuccess && r != ncclInProgress) {
      absl::Status s = absl::InternalError(absl::StrCat(OpName(op), " in group '", options_.group,
                                                        "': NCCL ", ncclGetErrorString(r), ": ",
                                                        ncclGetLastError(comm_)));
      Break(s);
      return s;
    }
    absl::Status s = AwaitEnqueued(comm_, Clock::now() + options_.timeout,
                                   absl::StrCat(OpName(op), " in group '", options_.group, "'"));
    if (!s.ok()) Break(s);
    return s;
  }

  // A blocking collective: enqueued, then waited for against the timeout.
  template <typename Issue>
  absl::Status Collective(Op op, Issue issue) {
    ++counters_[op].calls;
    if (!broken_.ok()) return broken_;
    if (auto s = Enqueue(op, issue); !s.ok()) return s;
    absl::StatusOr<cudaEvent_t> done = MarkQueued(op);
    if (!done.ok()) return done.status();
    return AwaitEvent(*done, Clock::now() + options_.timeout, op, {});
  }

  // Ring all-reduce volume: 2·(P−1)/P of the buffer each way.
  void CountAllReduce(int64_t count, DType dtype) {
    auto& c = counters_[Op::kAllReduce];
    const int64_t bytes = count * DTypeSize(dtype) * 2 * (size_ - 1) / size_;
    c.bytes_sent += bytes;
    c.bytes_received += bytes;
    c.messages_sent += 2 * (size_ - 1);
  }

  // An event marking the work enqueued so far on the comm stream. A failure
  // leaves the stream's order unknown, so it breaks the communicator.
  absl::StatusOr<cudaEvent_t> MarkQueued(Op op) {
    cudaEvent_t done = nullptr;
    cudaError_t e = cudaEventCreateWithFlags(&done, cudaEventDisableTiming);
    if (e == cudaSuccess) e = cudaEventRecord(done, stream_);
    if (e == cudaSuccess) return done;
    if (done != nullptr) cudaEventDestroy(done);
    return Broken(CudaError(e, InGroup(op).c_str()));
  }

  // The work enqueued so far on the comm stream as a batch to wait for.
  absl::StatusOr<std::unique_ptr<PendingBatch>> InFlight(Op op, std::vector<int> peers) {
    absl::StatusOr<cudaEvent_t> done = MarkQueued(op);
    if (!done.ok()) return done.status();
    return std::unique_ptr<PendingBatch>(
        new NcclBatch(this, op, *done, Clock::now() + options_.timeout, std::move(peers)));
  }

  std::string InGroup(Op op) const {
    return absl::StrCat(OpName(op), " in group '", options_.group, "'");
  }

  absl::Status Broken(absl::Status s) {
    Break(s);
    return s;
  }

  // NCCL reads and writes device memory only. Host buffers (the loss, a
  // checkpoint flag: a few bytes per step) pass through pinned and device
  // staging: `in` is copied to offset `in_offset` of the staged output, where
  // the in-place collectives read it. Both buffers are host or both device.
  template <typename Issue>
  absl::Status Staged(Op op, const void* in, int64_t in_bytes, void* out, int64_t out_bytes,
                      int64_t in_offset, Issue issue) {
    const bool host_in = IsHostPointer(in), host_out = IsHostPointer(out);
    if (!host_in && !host_out) return Collective(op, [&] { return issue(in, out); });
    if (host_in != host_out) {
      ++counters_[op].calls;
      return absl::InvalidArgumentError(absl::StrCat(
          OpName(op), " in group '", options_.group,
          "': one buffer is in host memory and the other on the device; pass both in one"));
    }
    if (out_bytes > kHostStageBytes) {
      ++counters_[op].calls;
      return absl::InvalidArgumentError(absl::StrCat(
          OpName(op), " in group '", options_.group, "': ", out_bytes,
          " bytes of host memory; host buffers (control values) are staged up to ",
          kHostStageBytes, " bytes, pass device memory for more"));
    }
    std::memcpy(host_stage_ + in_offset, in, in_bytes);
    char* device_in = device_stage_ + in_offset;
    if (auto s = Collective(op,
                            [&] {
                              if (cudaMemcpyAsync(device_in, host_stage_ + in_offset, in_bytes,
                                                  cudaMemcpyHostToDevice,
                                                  stream_) != cudaSuccess) {
                                return ncclUnhandledCudaError;
                              }
                              return issue(device_in, device_stage_);
                            });
        !s.ok()) {
      return s;
    }
    // The collective is complete; the copy back is awaited the same way, so
    // even a stream still busy with a send/recv batch cannot block the host.
    if (cudaError_t e = cudaMemcpyAsync(host_stage_, device_stage_, out_bytes,
                                        cudaMemcpyDeviceToHost, stream_);
        e != cudaSuccess) {
      return Broken(CudaError(e, InGroup(op).c_str()));
    }
    absl::StatusOr<cudaEvent_t> copied = MarkQueued(op);
    if (!copied.ok()) return copied.status();
    if (auto s = AwaitEvent(*copied, Clock::now() + options_.timeout, op, {}); !s.ok()) return s;
    std::memcpy(out, host_stage_, out_bytes);
    return absl::OkStatus();
  }

  void Break(const absl::Status& s) {
    if (!broken_.ok()) return;
    broken_ = s;
    ncclCommAbort(comm_);
  }

  ncclComm_t comm_;
  cudaStream_t stream_;
  cudaEvent_t produced_ = nullptr;
  void* barrier_buf_ = nullptr;
  static constexpr int64_t kHostStageBytes = 64 << 10;
  char* device_stage_ = nullptr;  // host buffers' staging (Staged), kHostStageBytes each
  char* host_stage_ = nullptr;    // pinned
  int rank_, size_;
  CommOptions options_;
  NcclOptions nccl_;
  CommCounters counters_;
  std::atomic<int64_t> sequence_{0};
  absl::Status broken_;
};

absl::Status NcclBatch::Wait() {
  if (waited_) return result_;
  waited_ = true;
  result_ = comm_->AwaitEvent(done_, deadline_, op_, peers_);
  return result_;
}

}  // namespace

std::string NcclVersion() {
  int v = 0;
  ncclGetVersion(&v);
  // Since 2.9: major·10000 + minor·100 + patch.
  return absl::StrCat(v / 10000, ".", (v / 100) % 100, ".", v % 100);
}

absl::StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(
    gloo::rendezvous::Store& store, int rank, int size, const CommOptions& options,
    const NcclOptions& nccl_options) {
  if (size < 1 || rank < 0 || rank >= size) {
    return absl::InvalidArgumentError(absl::StrCat("nccl: rank ", rank, " of size ", size));
  }
  CommOptions opts = options;
  if (opts.world_ranks.empty()) {
    for (int r = 0; r < size; ++r) opts.world_ranks.push_back(r);
  }
  const std::string key = absl::StrCat(options.group, "/nccl_id");
  ncclUniqueId id;
  try {
    if (rank == 0) {
      if (ncclResult_t r = ncclGetUniqueId(&id); r != ncclSuccess) {
        return absl::InternalError(absl::StrCat("nccl: ncclGetUniqueId: ", ncclGetErrorString(r)));
      }
      store.set(key, std::vector<char>(id.internal, id.internal + sizeof(id.internal)));
    } else {
      store.wait({key}, options.timeout);
      const std::vector<char> bytes = store.get(key);
      if (bytes.size() != sizeof(id.internal)) {
        return absl::InternalError(absl::StrCat("nccl: id under '", key, "' has ", bytes.size(),
                                                " bytes, expected ", sizeof(id.internal)));
      }
      std::memcpy(id.internal, bytes.data(), bytes.size());
    }
  } catch (const std::exception& e) {
    return absl::DeadlineExceededError(absl::StrCat("rendezvous of group '", options.group,
                                                    "': no NCCL id from rank 0 (",
                                                    RankName(opts, 0), ") within ",
                                                    FormatTimeout(options.timeout), ": ", e.what()));
  }
  if (cudaError_t e = cudaSetDevice(nccl_options.device); e != cudaSuccess) {
    return CudaError(e, absl::StrCat("nccl: cudaSetDevice(", nccl_options.device, ")").c_str());
  }
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclComm_t comm = nullptr;
  const ncclResult_t r = ncclCommInitRankConfig(&comm, size, id, rank, &config);
  if (r != ncclSuccess && r != ncclInProgress) {
    return absl::InternalError(absl::StrCat("nccl: init of group '", options.group, "': ",
                                            ncclGetErrorString(r)));
  }
  if (auto s = AwaitEnqueued(comm, Clock::now() + options.timeout,
                             absl::StrCat("nccl: init of group '", options.group, "' (", size,
                                          " ranks) within ", FormatTimeout(options.timeout)));
      !s.ok()) {
    ncclCommAbort(comm);
    return s;
  }
  cudaStream_t stream = nullptr;
  if (cudaError_t e = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking); e != cudaSuccess) {
    ncclCommAbort(comm);
    return CudaError(e, "nccl: communication stream");
  }
  auto c = std::unique_ptr<NcclCommunicator>(
      new NcclCommunicator(comm, stream, rank, size, std::move(opts), nccl_options));
  // Allocated once: freeing device memory later would wait for the whole
  // device, a stuck transfer of another group included.
  if (auto s = c->AllocateStaging(); !s.ok()) return s;
  return std::unique_ptr<Communicator>(std::move(c));
}

}  // namespace spindle::comm
