// A Gloo rendezvous store backed by the coordinator's Rendezvous service
// (proto/spindle/v1/rendezvous.proto), so ranks on different machines meet
// without a shared filesystem. Keys are scoped to one job attempt on the
// server; a rank of an earlier attempt is refused (fencing), and so is any
// caller without the attempt's key: the worker writes it to a file only the
// ranks' user can read and names that file in rpc::kAttemptKeyFileEnv.
//
// Rendezvous addresses, as passed to `spindle-trainer --rendezvous`:
//   grpc://HOST:PORT/JOB_ID/ATTEMPT   this store
//   /some/dir                          Gloo's file store (local runner, tests)
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gloo/rendezvous/store.h"

namespace spindle::rendezvous {

struct GrpcAddress {
  std::string target;  // host:port
  std::string job_id;
  int attempt = 0;
};

// InvalidArgument naming the expected form when `url` is not
// grpc://HOST:PORT/JOB/ATTEMPT.
absl::StatusOr<GrpcAddress> ParseGrpcAddress(const std::string& url);

// A store for `address` (either form above). Each call to the coordinator is
// bounded; get() and wait() without a timeout give up after wait_timeout and
// throw gloo::IoException naming the missing key, as Gloo's own stores do.
// attempt_key empty: read from the file rpc::kAttemptKeyFileEnv names, if set.
absl::StatusOr<std::unique_ptr<gloo::rendezvous::Store>> MakeStore(
    const std::string& address, std::chrono::milliseconds wait_timeout,
    std::string attempt_key = "");

}  // namespace spindle::rendezvous
