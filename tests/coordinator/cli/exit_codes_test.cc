#include "coordinator/cli/exit_codes.h"

#include "coordinator/cli/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spindle::cli {
namespace {

namespace v1 = spindle::v1;
using ::testing::HasSubstr;

TEST(ExitCodesTest, FromJobState) {
  EXPECT_EQ(ExitCodeForState(v1::SUCCEEDED), 0);
  EXPECT_EQ(ExitCodeForState(v1::FAILED), 3);
  EXPECT_EQ(ExitCodeForState(v1::CANCELLED), 4);
  for (v1::JobState s :
       {v1::JOB_STATE_UNSPECIFIED, v1::QUEUED, v1::PLANNING, v1::RUNNING, v1::RESTARTING}) {
    EXPECT_EQ(ExitCodeForState(s), kExitError) << v1::JobState_Name(s);
  }
}

int ForGrpc(grpc::StatusCode code) {
  return ExitCodeForStatus(FromGrpc(grpc::Status(code, "detail"), "head:7070", "GetJob"));
}

TEST(ExitCodesTest, FromGrpcCode) {
  EXPECT_EQ(ForGrpc(grpc::StatusCode::OK), 0);
  EXPECT_EQ(ForGrpc(grpc::StatusCode::UNAVAILABLE), 5);
  EXPECT_EQ(ForGrpc(grpc::StatusCode::DEADLINE_EXCEEDED), 5);
  EXPECT_EQ(ForGrpc(grpc::StatusCode::UNAUTHENTICATED), 5);
  EXPECT_EQ(ForGrpc(grpc::StatusCode::PERMISSION_DENIED), 5);
  EXPECT_EQ(ForGrpc(grpc::StatusCode::INVALID_ARGUMENT), 2);
  EXPECT_EQ(ForGrpc(grpc::StatusCode::FAILED_PRECONDITION), 2);
  EXPECT_EQ(ForGrpc(grpc::StatusCode::NOT_FOUND), 1);
  EXPECT_EQ(ForGrpc(grpc::StatusCode::INTERNAL), 1);
  EXPECT_EQ(ForGrpc(grpc::StatusCode::UNKNOWN), 1);
}

TEST(ExitCodesTest, FromGrpcKeepsCodesAndSaysHowToFix) {
  absl::Status s = FromGrpc(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused"),
                            "head:7070", "GetJob");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("cannot reach the coordinator at head:7070"));
  EXPECT_THAT(s.message(), HasSubstr("connection refused"));
  EXPECT_THAT(s.message(), HasSubstr("is spindle-coordinator running?"));
  EXPECT_THAT(s.message(), HasSubstr("--coordinator HOST:PORT / set SPINDLE_COORDINATOR"));

  s = FromGrpc(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no token"), "head:7070",
               "CancelJob");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("the coordinator at head:7070 refused CancelJob"));
  s = FromGrpc(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no bearer token"), "head:7070",
               "GetJob");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(), HasSubstr("--token-file FILE or SPINDLE_TOKEN_FILE"));

  // The coordinator's own message (naming the field) is kept as is.
  s = FromGrpc(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "job.yaml:3:1: train.max_step: unknown field"),
               "head:7070", "SubmitJob");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "job.yaml:3:1: train.max_step: unknown field");
  EXPECT_TRUE(FromGrpc(grpc::Status::OK, "x", "y").ok());
}

}  // namespace
}  // namespace spindle::cli
