#include "coordinator/store/job_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "tests/testing/temp_dir.h"

namespace spindle::store {
namespace {

v1::Job MakeJob(const std::string& id, int64_t created, v1::JobState state) {
  v1::Job job;
  job.set_id(id);
  job.set_name(id.substr(0, id.rfind('-')));
  job.set_create_time_ms(created);
  job.set_state(state);
  job.set_spec_yaml("apiVersion: spindle/v1\n");
  return job;
}

TEST(JobStoreTest, JobsAndEventsSurviveReopening) {
  testing::TempDir dir;
  const std::string path = dir.Join("jobs.db");
  {
    auto store = JobStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Put(MakeJob("demo-1", 100, v1::QUEUED)).ok());
    ASSERT_TRUE((*store)->Put(MakeJob("demo-2", 200, v1::QUEUED)).ok());
    v1::Job updated = MakeJob("demo-1", 100, v1::SUCCEEDED);
    updated.mutable_progress()->set_loss(2.5);
    ASSERT_TRUE((*store)->Put(updated).ok());
    for (int seq = 1; seq <= 3; ++seq) {
      v1::JobEvent e;
      e.set_seq(seq);
      e.set_message("event " + std::to_string(seq));
      ASSERT_TRUE((*store)->AppendEvent("demo-1", e).ok());
    }
  }
  auto store = JobStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  auto jobs = (*store)->LoadAll();
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[0].id(), "demo-1");
  EXPECT_EQ((*jobs)[0].state(), v1::SUCCEEDED);
  EXPECT_DOUBLE_EQ((*jobs)[0].progress().loss(), 2.5);
  EXPECT_EQ((*jobs)[1].id(), "demo-2");
  auto events = (*store)->Events("demo-1", 1);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].message(), "event 2");
  EXPECT_EQ(*(*store)->LastJobNumber(), 2);
}

TEST(JobStoreTest, DuplicateEventSequenceIsAnError) {
  testing::TempDir dir;
  auto store = JobStore::Open(dir.Join("jobs.db"));
  ASSERT_TRUE(store.ok());
  v1::JobEvent e;
  e.set_seq(1);
  ASSERT_TRUE((*store)->AppendEvent("x-1", e).ok());
  const absl::Status again = (*store)->AppendEvent("x-1", e);
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("x-1"), std::string::npos) << again;
}

TEST(JobStoreTest, MissingDirectoryNamesTheFile) {
  auto store = JobStore::Open("/nonexistent-dir/jobs.db");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("/nonexistent-dir/jobs.db"), std::string::npos);
}

TEST(JobStoreTest, UnknownSchemaVersionIsRefused) {
  testing::TempDir dir;
  const std::string path = dir.Join("jobs.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99;", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = JobStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("schema version 99"), std::string::npos)
      << store.status();
}

}  // namespace
}  // namespace spindle::store
