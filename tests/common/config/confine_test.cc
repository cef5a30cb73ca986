// Job path confinement (common/config/confine.h): relative paths, "..",
// symbolic links out of a root, prefixes that are not parents.
#include "common/config/confine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testing/temp_dir.h"

namespace spindle::config {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ConfineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.Join("jobs");
    fs::create_directories(root_ + "/alice/data");
    fs::create_directories(dir_.Join("jobs-evil"));
    fs::create_symlink("/etc", root_ + "/alice/etc-link");
    spec_.data.path = "data/tokens.bin";
    spec_.checkpoint.dir = "./checkpoints/run";
    spec_.checkpoint.export_spec.dir = root_ + "/alice/export";
  }
  absl::Status Confine() { return ConfineJobPaths(spec_, root_ + "/alice", {root_}); }

  spindle::testing::TempDir dir_;
  std::string root_;
  JobSpec spec_;
};

TEST_F(ConfineTest, PathsInsideTheRootsPass) {
  EXPECT_TRUE(Confine().ok()) << Confine();
  EXPECT_TRUE(ConfineJobPaths(spec_, "/anywhere", {}).ok()) << "no roots: no confinement";
  EXPECT_EQ(PathsOf(spec_).size(), 3u);
}

TEST_F(ConfineTest, AbsolutePathsOutsideAreNamedByField) {
  spec_.data.path = "/etc/shadow";
  const absl::Status s = Confine();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("data.path: /etc/shadow resolves to /etc/shadow, outside "
                                     "the job roots (" + root_ + ")"));
}

TEST_F(ConfineTest, DotDotAndSymbolicLinksDoNotEscape) {
  spec_.checkpoint.dir = "../../outside";
  spec_.data.path = "etc-link/shadow";
  const absl::Status s = Confine();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("checkpoint.dir: ../../outside resolves to"));
  EXPECT_THAT(s.message(), HasSubstr("data.path: etc-link/shadow resolves to /etc/shadow"));
}

TEST_F(ConfineTest, APrefixIsNotAParent) {
  spec_.checkpoint.export_spec.dir = dir_.Join("jobs-evil/export");
  const absl::Status s = Confine();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("checkpoint.export.dir"));
}

TEST_F(ConfineTest, TheSubmitDirectoryMustBeInsideAndAbsolute) {
  EXPECT_THAT(ConfineJobPaths(spec_, "/tmp", {root_}).message(),
              HasSubstr("submit directory /tmp is outside the job roots"));
  EXPECT_THAT(ConfineJobPaths(spec_, "", {root_}).message(),
              HasSubstr("no absolute submit directory"));
}

}  // namespace
}  // namespace spindle::config
