// common/metrics: histogram state, families built at scrape time and their
// text exposition, the gRPC server counters, process metrics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include "common/metrics/grpc_server_metrics.h"
#include "common/metrics/histogram_data.h"
#include "common/metrics/metric_families.h"
#include "common/metrics/process_metrics.h"

namespace spindle::metrics {
namespace {

using ::testing::HasSubstr;

std::string Text(Families& f) {
  return prometheus::TextSerializer().Serialize(f.Take());
}

TEST(HistogramDataTest, BucketsAreUpperBoundsInclusive) {
  HistogramData h({1, 2});
  for (double v : {0.5, 1.0, 1.5, 2.0, 7.0}) h.Observe(v);
  EXPECT_EQ(h.counts, (std::vector<uint64_t>{2, 2, 1}));
  EXPECT_EQ(h.count, 5u);
  EXPECT_DOUBLE_EQ(h.sum, 12.0);
}

TEST(FamiliesTest, ExposesCumulativeBucketsAndDropsEmptyFamilies) {
  HistogramData h({1, 2});
  for (double v : {0.5, 1.5, 7.0}) h.Observe(v);
  Families f;
  f.Gauge("spindle_nothing", "no samples");
  f.Counter("spindle_things_total", "things").Add({{"job_id", "a"}}, 3);
  f.Histogram("spindle_wait_seconds", "waits").Add({{"job_id", "a"}}, h);
  const std::string text = Text(f);
  EXPECT_THAT(text, Not(HasSubstr("spindle_nothing")));
  EXPECT_THAT(text, HasSubstr("# TYPE spindle_things_total counter"));
  EXPECT_THAT(text, HasSubstr("spindle_things_total{job_id=\"a\"} 3"));
  EXPECT_THAT(text, HasSubstr("spindle_wait_seconds_bucket{job_id=\"a\",le=\"1\"} 1"));
  EXPECT_THAT(text, HasSubstr("spindle_wait_seconds_bucket{job_id=\"a\",le=\"2\"} 2"));
  EXPECT_THAT(text, HasSubstr("spindle_wait_seconds_bucket{job_id=\"a\",le=\"+Inf\"} 3"));
  EXPECT_THAT(text, HasSubstr("spindle_wait_seconds_count{job_id=\"a\"} 3"));
}

TEST(GrpcServerMetricsTest, CountsByServiceMethodAndCode) {
  GrpcServerMetrics m;
  m.Started("unary", "/spindle.v1.JobService/GetJob");
  m.Handled("unary", "/spindle.v1.JobService/GetJob", grpc::StatusCode::NOT_FOUND, 0.002);
  m.Started("unary", "/spindle.v1.JobService/GetJob");
  m.Handled("unary", "/spindle.v1.JobService/GetJob", grpc::StatusCode::OK, 0.001);
  Families f;
  m.Collect(&f);
  const std::string text = Text(f);
  EXPECT_THAT(text, HasSubstr("grpc_server_started_total{grpc_type=\"unary\",grpc_service=\"spindle.v1.JobService\",grpc_method=\"GetJob\"} 2"));
  EXPECT_THAT(text, HasSubstr("grpc_method=\"GetJob\",grpc_code=\"NOT_FOUND\"} 1"));
  EXPECT_THAT(text, HasSubstr("grpc_method=\"GetJob\",grpc_code=\"OK\"} 1"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handling_seconds_count{grpc_type=\"unary\""));
}

TEST(ProcessMetricsTest, ReadsThisProcess) {
  Families f;
  AddProcessMetrics(&f);
  const std::string text = Text(f);
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_open_fds", "process_start_time_seconds", "process_threads"}) {
    EXPECT_THAT(text, HasSubstr(std::string("\n") + name + " ")) << name;
  }
  double rss = 0, peak = 0;
  ASSERT_TRUE(ReadProcessMemory(getpid(), &rss, &peak));
  EXPECT_GT(rss, 1 << 20);
  EXPECT_GE(peak, rss);
  EXPECT_FALSE(ReadProcessMemory(-1, &rss, &peak));
}

}  // namespace
}  // namespace spindle::metrics
