#include "tests/common/comm/comm_test_util.h"

#include <algorithm>
#include <memory>
#include <numeric>

#include "common/comm/gloo_communicator.h"
#include "common/comm/local_communicator.h"
#include "gloo/rendezvous/hash_store.h"
#include "gtest/gtest.h"
#include "tests/testing/spawn_ranks.h"

namespace spindle::comm {

std::string BackendName(Backend b) { return b == Backend::kLocal ? "Local" : "Gloo"; }

void RunGroup(Backend backend, int p, const CommOptions& options,
              const std::function<void(Communicator& comm)>& body, std::vector<int> world_ranks) {
  if (world_ranks.empty()) {
    world_ranks.resize(p);
    std::iota(world_ranks.begin(), world_ranks.end(), 0);
  }
  const int world = *std::max_element(world_ranks.begin(), world_ranks.end()) + 1;
  auto fabric = LocalFabric::Create(world);
  gloo::rendezvous::HashStore store;
  testing::SpawnRanks(p, [&](int rank) {
    CommOptions opts = options;
    opts.world_rank = world_ranks[rank];
    opts.world_ranks = world_ranks;
    absl::StatusOr<std::unique_ptr<Communicator>> comm =
        backend == Backend::kLocal ? fabric->Connect(world_ranks, world_ranks[rank], opts)
                                   : CreateGlooCommunicator(store, rank, p, opts);
    ASSERT_TRUE(comm.ok()) << comm.status();
    ASSERT_EQ((*comm)->rank(), rank);
    ASSERT_EQ((*comm)->size(), p);
    body(**comm);
  });
}

}  // namespace spindle::comm
