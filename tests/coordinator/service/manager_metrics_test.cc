// coordinator/service/manager_metrics: live jobs' series, and which of them
// carry an ETA.
#include "coordinator/service/manager_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

namespace spindle::coordinator {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ManagerMetrics::Job LiveJob(const std::string& id, const std::string& state, double eta) {
  ManagerMetrics::Job j;
  j.id = id;
  j.name = id;
  j.user = "ada";
  j.model = "demo";
  j.state = state;
  j.attempt = 1;
  j.world = 4;
  j.eta_seconds = eta;
  return j;
}

TEST(ManagerMetricsTest, OnlyARunningJobWithAKnownStepTimeHasAnEta) {
  ManagerMetrics m;
  m.jobs_by_state = {{"running", 2}, {"restarting", 1}};
  m.live_jobs = {LiveJob("run-1", "running", 5400), LiveJob("run-2", "running", 0),
                 LiveJob("again-1", "restarting", 120)};
  metrics::Families f;
  AddManagerMetrics(m, &f);
  const std::string text = prometheus::TextSerializer().Serialize(f.Take());
  EXPECT_THAT(text, HasSubstr("spindle_job_eta_seconds{job_id=\"run-1\"} 5400"));
  // No step time yet, or an ETA from an attempt that is being replaced.
  EXPECT_THAT(text, Not(HasSubstr("spindle_job_eta_seconds{job_id=\"run-2\"}")));
  EXPECT_THAT(text, Not(HasSubstr("spindle_job_eta_seconds{job_id=\"again-1\"}")));
  EXPECT_THAT(text, HasSubstr("spindle_job_state{job_id=\"again-1\",state=\"restarting\"} 1"));
  EXPECT_THAT(text, HasSubstr("spindle_jobs{state=\"running\"} 2"));
}

}  // namespace
}  // namespace spindle::coordinator
