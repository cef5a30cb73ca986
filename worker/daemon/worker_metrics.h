// The worker's metrics (docs/metrics.md): its running ranks' training,
// communication, memory and checkpoint figures, relayed from their
// sign-of-life files and rank 0's step records. Series exist only while a
// rank runs, so an ended job's series vanish from the next scrape.
#pragma once

#include <string>
#include <vector>

#include "common/metrics/metric_families.h"
#include "spindle/v1/worker.pb.h"
#include "worker/daemon/rank_supervisor.h"

namespace spindle::worker {

// worker_id: this worker's name; devices: as registered (uuid, memory).
void AddWorkerMetrics(const std::string& worker_id, const std::vector<v1::Device>& devices,
                      const std::vector<RankSnapshot>& ranks, metrics::Families* f);

}  // namespace spindle::worker
