#include "coordinator/store/job_store.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"

namespace spindle::store {
namespace {

constexpr int kSchemaVersion = 1;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  number INTEGER NOT NULL,        -- submission order
  name TEXT NOT NULL,
  state INTEGER NOT NULL,         -- spindle.v1.JobState
  create_time_ms INTEGER NOT NULL,
  job BLOB NOT NULL               -- serialized spindle.v1.Job
);
CREATE TABLE IF NOT EXISTS events (
  job_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event BLOB NOT NULL,            -- serialized spindle.v1.JobEvent
  PRIMARY KEY (job_id, seq)
);
)sql";

// One prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return stmt_; }
  void Text(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void Blob(int i, const std::string& s) {
    sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  std::string ColumnBlob(int i) {
    const void* p = sqlite3_column_blob(stmt_, i);
    return std::string(static_cast<const char*>(p), sqlite3_column_bytes(stmt_, i));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

absl::Status Error(sqlite3* db, const std::string& path, const std::string& what) {
  return absl::UnavailableError(
      absl::StrCat("job store ", path, ": ", what, ": ", sqlite3_errmsg(db)));
}

int64_t NumberOf(const std::string& id) {
  const size_t dash = id.rfind('-');
  int64_t n = 0;
  for (size_t i = dash == std::string::npos ? 0 : dash + 1; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return 0;
    n = n * 10 + (id[i] - '0');
  }
  return n;
}

}  // namespace

absl::StatusOr<std::unique_ptr<JobStore>> JobStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    absl::Status s = Error(db, path, "cannot open (does its directory exist and is it writable?)");
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<JobStore> store(new JobStore(db, path));
  // Another coordinator holding the file makes writes wait up to 5 s, then fail.
  sqlite3_busy_timeout(db, 5000);
  for (const char* pragma : {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;"}) {
    if (absl::Status s = store->Exec(pragma); !s.ok()) return s;
  }
  if (absl::Status s = store->Exec(kSchema); !s.ok()) return s;
  Statement version(db, "PRAGMA user_version;");
  if (!version.ok() || sqlite3_step(version.get()) != SQLITE_ROW) {
    return Error(db, path, "reading the schema version");
  }
  const int found = sqlite3_column_int(version.get(), 0);
  if (found == 0) {
    if (absl::Status s = store->Exec(absl::StrCat("PRAGMA user_version=", kSchemaVersion, ";").c_str());
        !s.ok()) {
      return s;
    }
  } else if (found != kSchemaVersion) {
    return absl::UnavailableError(absl::StrCat("job store ", path, ": schema version ", found,
                                               ", this coordinator reads version ", kSchemaVersion,
                                               "; use a matching coordinator or a new --state-dir"));
  }
  return store;
}

JobStore::~JobStore() { sqlite3_close(db_); }

absl::Status JobStore::Exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return absl::UnavailableError(absl::StrCat("job store ", path_, ": ", text));
  }
  return absl::OkStatus();
}

absl::Status JobStore::Put(const v1::Job& job) {
  Statement st(db_,
               "INSERT INTO jobs (id, number, name, state, create_time_ms, job) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET "
               "state = excluded.state, job = excluded.job;");
  if (!st.ok()) return Error(db_, path_, "preparing a job write");
  st.Text(1, job.id());
  st.Int(2, NumberOf(job.id()));
  st.Text(3, job.name());
  st.Int(4, job.state());
  st.Int(5, job.create_time_ms());
  st.Blob(6, job.SerializeAsString());
  if (sqlite3_step(st.get()) != SQLITE_DONE) return Error(db_, path_, "writing job " + job.id());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Job>> JobStore::LoadAll() {
  Statement st(db_, "SELECT id, job FROM jobs ORDER BY create_time_ms, number;");
  if (!st.ok()) return Error(db_, path_, "preparing the job list");
  std::vector<v1::Job> jobs;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    v1::Job job;
    if (!job.ParseFromString(st.ColumnBlob(1))) {
      return absl::DataLossError(absl::StrCat("job store ", path_, ": job ",
                                              reinterpret_cast<const char*>(
                                                  sqlite3_column_text(st.get(), 0)),
                                              " does not parse"));
    }
    jobs.push_back(std::move(job));
  }
  if (rc != SQLITE_DONE) return Error(db_, path_, "reading jobs");
  return jobs;
}

absl::Status JobStore::AppendEvent(const std::string& job_id, const v1::JobEvent& event) {
  Statement st(db_, "INSERT INTO events (job_id, seq, event) VALUES (?1, ?2, ?3);");
  if (!st.ok()) return Error(db_, path_, "preparing an event write");
  st.Text(1, job_id);
  st.Int(2, event.seq());
  st.Blob(3, event.SerializeAsString());
  if (sqlite3_step(st.get()) != SQLITE_DONE) {
    return Error(db_, path_, absl::StrCat("writing event ", event.seq(), " of job ", job_id));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::JobEvent>> JobStore::Events(const std::string& job_id,
                                                           int64_t after_seq) {
  Statement st(db_, "SELECT event FROM events WHERE job_id = ?1 AND seq > ?2 ORDER BY seq;");
  if (!st.ok()) return Error(db_, path_, "preparing an event read");
  st.Text(1, job_id);
  st.Int(2, after_seq);
  std::vector<v1::JobEvent> events;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    v1::JobEvent e;
    if (!e.ParseFromString(st.ColumnBlob(0))) {
      return absl::DataLossError(
          absl::StrCat("job store ", path_, ": an event of job ", job_id, " does not parse"));
    }
    events.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return Error(db_, path_, "reading events of job " + job_id);
  return events;
}

absl::StatusOr<int64_t> JobStore::LastJobNumber() {
  Statement st(db_, "SELECT COALESCE(MAX(number), 0) FROM jobs;");
  if (!st.ok() || sqlite3_step(st.get()) != SQLITE_ROW) {
    return Error(db_, path_, "reading the last job number");
  }
  return sqlite3_column_int64(st.get(), 0);
}

}  // namespace spindle::store
