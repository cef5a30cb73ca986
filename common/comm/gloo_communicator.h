// The Gloo backend: a Communicator between processes over Gloo's TCP
// transport (one full mesh of connections per group), with the collectives
// of p2p_communicator.h on top. Rendezvous goes through a Gloo key-value
// Store: a FileStore on a shared directory for local multi-process runs
// (MakeFileStore), any other gloo::rendezvous::Store implementation for
// services.
//
// Gloo cannot tell a size mismatch from a missing message, so a peer that
// issued another op or size is reported as a timeout naming it.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/comm/communicator.h"
#include "gloo/rendezvous/store.h"

namespace spindle::comm {

struct GlooOptions {
  // Address the TCP device listens on and advertises to peers; used when
  // `iface` is empty. The default keeps a group on one machine.
  std::string hostname = "127.0.0.1";
  // Network interface (e.g. "eth0") whose address to use instead.
  std::string iface;
};

// Forms the group of `size` ranks as `rank`, blocking until every rank
// connected. Keys are scoped by options.group in `store`, which is used only
// during this call. Every rank first publishes its presence, then waits for
// each peer's against options.timeout; a rank that never arrives gives
// DeadlineExceeded "rendezvous of group 'x': rank 2 (world rank 5) did not
// arrive within 10s". A group name can be formed once per store (its keys
// stay); to re-form it, use a fresh store or wrap it in a PrefixStore.
absl::StatusOr<std::unique_ptr<Communicator>> CreateGlooCommunicator(
    gloo::rendezvous::Store& store, int rank, int size, const CommOptions& options,
    const GlooOptions& gloo_options = {});

// A Gloo FileStore keeping its keys in `dir` (created when missing), whose
// waits end within ~5 ms of their timeout (Gloo's own rounds to seconds).
// Every rank of a job passes the same directory; it must start empty.
absl::StatusOr<std::unique_ptr<gloo::rendezvous::Store>> MakeFileStore(const std::string& dir);

}  // namespace spindle::comm
