// worker/daemon/worker_metrics: a running rank's figures become per-rank
// series with the right shares and sums.
#include "worker/daemon/worker_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

namespace spindle::worker {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(WorkerMetricsTest, SharesSumsAndLabels) {
  RankSnapshot r;
  r.job_id = "demo-1";
  r.attempt = 1;
  r.rank = 2;
  r.device = 1;
  r.world = 4;
  r.pid = getpid();
  r.peak_flops = 1e11;
  r.dtype = "fp32";
  r.flops_per_token = 1000;
  r.stats_json = R"({"steps": 3, "tokens": 400,
      "phases": {"data": 0.5, "forward": 1, "backward": 2, "grad_sync": 0.25, "optimizer": 0.5,
                 "checkpoint": 0},
      "comm": {"ring": {"send_recv": {"bytes": 4096, "wait_seconds": 0.5}},
               "grad": {"all_reduce": {"bytes": 8192, "wait_seconds": 3}}}})";
  r.collective_seq = {{"ring", 17}};
  v1::Device d;
  d.set_index(1);
  d.set_uuid("GPU-1234");
  d.set_memory_bytes(int64_t{8} << 30);

  metrics::Families f;
  AddWorkerMetrics("node-0", {d}, {r}, &f);
  const std::string text = prometheus::TextSerializer().Serialize(f.Take());
  const std::string jr = "job_id=\"demo-1\",rank=\"2\"";
  EXPECT_THAT(text, HasSubstr("spindle_rank_info{" + jr +
                              ",worker=\"node-0\",device=\"1\",gpu_uuid=\"GPU-1234\"} 1"));
  // 400 tokens over 4 ranks; FLOPs = that share × flops per token.
  EXPECT_THAT(text, HasSubstr("spindle_train_tokens_total{" + jr + "} 100"));
  EXPECT_THAT(text, HasSubstr("spindle_train_model_flops_total{" + jr + "} 100000"));
  EXPECT_THAT(text, HasSubstr("spindle_train_phase_seconds_total{" + jr + ",phase=\"backward\"} 2"));
  EXPECT_THAT(text, HasSubstr("spindle_comm_bytes_total{" + jr + ",op=\"send_recv\",group=\"ring\"} 4096"));
  // The gradient all-reduce's own waits are hidden behind backward; only
  // grad_sync counts: 0.5 (ring) + 0.25.
  EXPECT_THAT(text, HasSubstr("spindle_comm_exposed_seconds_total{" + jr + "} 0.75"));
  EXPECT_THAT(text, HasSubstr("spindle_collective_seq{" + jr + ",group=\"ring\"} 17"));
  EXPECT_THAT(text, HasSubstr("spindle_device_peak_flops{" + jr + ",dtype=\"fp32\"} 100000000000"));
  EXPECT_THAT(text, HasSubstr("spindle_device_memory_total_bytes{" + jr + "} 8589934592"));
  EXPECT_THAT(text, HasSubstr("spindle_device_memory_allocated_bytes{" + jr + "}"));
  // Not rank 0: no job-level step series.
  EXPECT_THAT(text, Not(HasSubstr("spindle_train_step{")));
}

TEST(WorkerMetricsTest, NoRanksNoJobSeries) {
  metrics::Families f;
  AddWorkerMetrics("node-0", {}, {}, &f);
  const std::string text = prometheus::TextSerializer().Serialize(f.Take());
  EXPECT_THAT(text, Not(HasSubstr("job_id")));
}

}  // namespace
}  // namespace spindle::worker
