#include "common/checkpoint/commit.h"

#include <unistd.h>

#include <string>
#include <utility>

#include "common/checkpoint/crc32c.h"
#include "common/checkpoint/dir_ops.h"
#include "common/checkpoint/manifest.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/checkpoint/test_files.h"
#include "tests/testing/temp_dir.h"

namespace spindle::checkpoint {
namespace {

using test::CommitFiles;
using test::List;
using test::ReadFile;
using test::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(StepDirNameTest, FormatAndParse) {
  EXPECT_EQ(StepDirName(0), "step-00000000");
  EXPECT_EQ(StepDirName(20), "step-00000020");
  EXPECT_EQ(StepDirName(123456789), "step-123456789");
  EXPECT_EQ(ParseStepDirName("step-00000020"), 20);
  EXPECT_EQ(ParseStepDirName("step-123456789"), 123456789);
  for (const char* bad : {"step-20", "step-000000020", "step-0000002x", "step--0000002",
                          ".step-00000020.tmp-0123456789abcdef", "xstep-00000020", "latest",
                          "step-99999999999999999999", "step-00000020 "}) {
    EXPECT_EQ(ParseStepDirName(bad), std::nullopt) << bad;
  }
}

TEST(CommitTest, CommitWritesFilesManifestAndLatest) {
  testing::TempDir tmp;
  const std::string root = tmp.Join("runs/a/ckpt");  // created on demand
  absl::StatusOr<PendingCheckpoint> pending = BeginCheckpoint(root, 20);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_TRUE(IsTempDirName(formats::BaseName(pending->dir())));
  EXPECT_EQ(formats::DirName(pending->dir()), root);
  const std::string model(4096, 'm');
  WriteFile(formats::JoinPath(pending->dir(), "model.safetensors"), model);
  ASSERT_TRUE(MakeDirectories(formats::JoinPath(pending->dir(), "shards")).ok());
  WriteFile(formats::JoinPath(pending->dir(), "shards/rank0.bin"), "rank zero");
  EXPECT_EQ(FindLatestValid(root).value(), std::nullopt);  // nothing committed yet

  ASSERT_TRUE(pending->Commit().ok());
  const std::string dir = root + "/step-00000020";
  EXPECT_EQ(pending->dir(), dir);
  EXPECT_THAT(List(root), ElementsAre("latest", "step-00000020"));
  EXPECT_EQ(ReadFile(root + "/latest"), "step-00000020\n");
  EXPECT_THAT(List(dir), ElementsAre("MANIFEST.json", "model.safetensors", "shards"));

  absl::StatusOr<Manifest> manifest =
      ParseManifest("m", ReadFile(formats::JoinPath(dir, kManifestName)));
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->step, 20);
  ASSERT_EQ(manifest->files.size(), 2u);
  EXPECT_EQ(manifest->files[0].name, "model.safetensors");
  EXPECT_EQ(manifest->files[0].bytes, 4096u);
  EXPECT_EQ(manifest->files[0].crc32c, Crc32c(model));
  EXPECT_EQ(manifest->files[1].name, "shards/rank0.bin");
  EXPECT_EQ(manifest->files[1].crc32c, Crc32c("rank zero"));

  EXPECT_TRUE(VerifyCheckpoint(dir).ok());
  std::vector<std::string> skipped;
  const absl::StatusOr<std::optional<CheckpointRef>> found = FindLatestValid(root, &skipped);
  ASSERT_TRUE(found.ok() && found->has_value()) << found.status();
  EXPECT_EQ((*found)->dir, dir);
  EXPECT_EQ((*found)->step, 20);
  EXPECT_THAT(skipped, IsEmpty());
}

TEST(CommitTest, EmptyCheckpointIsValid) {
  testing::TempDir tmp;
  const std::string dir = CommitFiles(tmp.path(), 0, {});
  EXPECT_THAT(List(dir), ElementsAre("MANIFEST.json"));
  EXPECT_TRUE(VerifyCheckpoint(dir).ok());
}

TEST(CommitTest, SameStepRecommitReplacesTheOldCheckpoint) {
  testing::TempDir tmp;
  CommitFiles(tmp.path(), 10, {{"a", "old"}, {"only_in_old", "x"}});
  const std::string dir = CommitFiles(tmp.path(), 10, {{"a", "new contents"}});
  EXPECT_THAT(List(dir), ElementsAre("MANIFEST.json", "a"));
  EXPECT_EQ(ReadFile(dir + "/a"), "new contents");
  EXPECT_TRUE(VerifyCheckpoint(dir).ok());
  EXPECT_THAT(List(tmp.path()), ElementsAre("latest", "step-00000010"));
}

// The path for filesystems without RENAME_EXCHANGE (NFS): old tree aside,
// new one in, old one removed.
TEST(CommitTest, ReplaceDirectoryWithoutExchange) {
  testing::TempDir tmp;
  ASSERT_TRUE(MakeDirectories(tmp.Join("new")).ok());
  ASSERT_TRUE(MakeDirectories(tmp.Join("target")).ok());
  WriteFile(tmp.Join("new/f"), "new");
  WriteFile(tmp.Join("target/f"), "old");
  ASSERT_TRUE(ReplaceDirectory(tmp.Join("new"), tmp.Join("target"), tmp.Join(".aside"),
                               /*use_exchange=*/false)
                  .ok());
  EXPECT_THAT(List(tmp.path()), ElementsAre("target"));
  EXPECT_EQ(ReadFile(tmp.Join("target/f")), "new");
}

TEST(CommitTest, DestroyingUncommittedCheckpointRemovesItsTempDir) {
  testing::TempDir tmp;
  {
    absl::StatusOr<PendingCheckpoint> pending = BeginCheckpoint(tmp.path(), 5);
    ASSERT_TRUE(pending.ok());
    WriteFile(formats::JoinPath(pending->dir(), "half"), "written");
    PendingCheckpoint moved = std::move(*pending);  // the moved-from one owns nothing
    EXPECT_EQ(List(tmp.path()).size(), 1u);
  }
  EXPECT_THAT(List(tmp.path()), IsEmpty());
}

TEST(CommitTest, CommitRejectsReservedNameAndSymlinksAndCleansUp) {
  testing::TempDir tmp;
  {
    absl::StatusOr<PendingCheckpoint> pending = BeginCheckpoint(tmp.path(), 1);
    ASSERT_TRUE(pending.ok());
    WriteFile(formats::JoinPath(pending->dir(), kManifestName), "{}");
    const absl::Status s = pending->Commit();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()), HasSubstr("MANIFEST.json: the name is reserved"));
    EXPECT_THAT(List(tmp.path()), IsEmpty());
    EXPECT_EQ(pending->Commit().code(), absl::StatusCode::kFailedPrecondition);
  }
  absl::StatusOr<PendingCheckpoint> pending = BeginCheckpoint(tmp.path(), 2);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(symlink("/etc/hostname", (pending->dir() + "/link").c_str()), 0);
  const absl::Status s = pending->Commit();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("link: not a regular file"));
  EXPECT_THAT(List(tmp.path()), IsEmpty());
}

TEST(CommitTest, CommitTwiceAndNegativeStepAreErrors) {
  testing::TempDir tmp;
  EXPECT_EQ(BeginCheckpoint(tmp.path(), -1).status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<PendingCheckpoint> pending = BeginCheckpoint(tmp.path(), 3);
  ASSERT_TRUE(pending.ok());
  ASSERT_TRUE(pending->Commit().ok());
  EXPECT_EQ(pending->Commit().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace spindle::checkpoint
