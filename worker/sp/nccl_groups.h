// The process groups of a rank that owns one GPU: every group is an NCCL
// communicator on that device (common/comm/nccl_communicator.h), its unique
// id exchanged through the job's rendezvous store. Built when CUDA, NCCL and
// a CUDA libtorch were found (SPINDLE_NCCL_GROUPS); elsewhere CI compiles it
// as a check only.
#pragma once

#include "common/comm/nccl_communicator.h"
#include "worker/sp/process_groups.h"

namespace spindle::sp {

// `store` must outlive the groups' creation (BuildProcessGroups and
// BuildWorldGroup); ids are published under "<group>/nccl_id".
GroupFactory NcclGroupFactory(gloo::rendezvous::Store& store, int world_rank,
                              comm::NcclOptions nccl);

}  // namespace spindle::sp
