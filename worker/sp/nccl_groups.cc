#include "worker/sp/nccl_groups.h"

#include "common/status.h"

namespace spindle::sp {

GroupFactory NcclGroupFactory(gloo::rendezvous::Store& store, int world_rank,
                              comm::NcclOptions nccl) {
  return
      [&store, world_rank, nccl](
          const std::vector<int>& world_ranks,
          const comm::CommOptions& options) -> absl::StatusOr<std::unique_ptr<comm::Communicator>> {
        SPINDLE_ASSIGN_OR_RETURN(int rank, GroupRankOf(world_ranks, world_rank, options.group));
        return comm::CreateNcclCommunicator(store, rank, static_cast<int>(world_ranks.size()),
                                            options, nccl);
      };
}

}  // namespace spindle::sp
