// The coordinator's durable state: jobs and their event timelines in an
// embedded SQLite database (WAL, synchronous=FULL), so that a restarted
// coordinator lists every job it ever accepted. A job row holds the whole
// spindle.v1.Job message; indexed columns are copies for ordering and lookup.
// Not thread-safe: the job manager serialises access.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "spindle/v1/job.pb.h"

struct sqlite3;

namespace spindle::store {

class JobStore {
 public:
  // Opens or creates the database file (its directory must exist) and the
  // schema. Unavailable naming the file when it cannot be opened or is not a
  // Spindle database of a known schema version.
  static absl::StatusOr<std::unique_ptr<JobStore>> Open(const std::string& path);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // Inserts or replaces the job with job.id(), committed before returning.
  absl::Status Put(const v1::Job& job);
  // Every job, in submission order.
  absl::StatusOr<std::vector<v1::Job>> LoadAll();

  // Appends an event (event.seq() must be new for the job).
  absl::Status AppendEvent(const std::string& job_id, const v1::JobEvent& event);
  // The job's events with seq > after_seq, in order.
  absl::StatusOr<std::vector<v1::JobEvent>> Events(const std::string& job_id, int64_t after_seq);
  // The largest number used in a job id so far ("demo-17" -> 17), 0 if none.
  absl::StatusOr<int64_t> LastJobNumber();

  const std::string& path() const { return path_; }

 private:
  JobStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  absl::Status Exec(const char* sql);

  sqlite3* db_;
  std::string path_;
};

}  // namespace spindle::store
