#include "common/formats/file_io.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace spindle::formats {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Read(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path, 1 << 20);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.value_or("");
}

TEST(FileIoTest, ErrnoErrorNamesSyscallAndPathWithMatchingCode) {
  const absl::Status missing = ErrnoError(ENOENT, "open", "/ckpt/x");
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "open(/ckpt/x): No such file or directory");
  EXPECT_EQ(ErrnoError(ENOSPC, "write", "f").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoError(EACCES, "open", "f").code(), absl::StatusCode::kPermissionDenied);
}

TEST(FileIoTest, WithContextKeepsCodeAndOk) {
  EXPECT_TRUE(WithContext(absl::OkStatus(), "loading").ok());
  const absl::Status s = WithContext(absl::NotFoundError("gone"), "loading model");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "loading model: gone");
}

TEST(FileIoTest, PathHelpers) {
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("a/b/"), "a");
  EXPECT_EQ(DirName("c"), ".");
  EXPECT_EQ(DirName("/c"), "/");
  EXPECT_EQ(BaseName("a/b/c"), "c");
  EXPECT_EQ(BaseName("a/b/"), "b");
  EXPECT_EQ(BaseName("c"), "c");
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
}

TEST(FileIoTest, WriteFileAtomicallyCreatesAndReplacesLeavingNoTemp) {
  testing::TempDir dir;
  const std::string path = dir.Join("latest");
  ASSERT_TRUE(WriteFileAtomically(path, "one").ok());
  EXPECT_EQ(Read(path), "one");
  ASSERT_TRUE(WriteFileAtomically(path, "two, longer").ok());
  EXPECT_EQ(Read(path), "two, longer");
  EXPECT_THAT(ListDir(dir.path()), ElementsAre("latest"));
}

TEST(FileIoTest, ContentAppearsOnlyAtCommit) {
  testing::TempDir dir;
  const std::string path = dir.Join("f");
  ASSERT_TRUE(WriteFileAtomically(path, "old").ok());
  absl::StatusOr<AtomicFileWriter> writer = AtomicFileWriter::Create(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_TRUE(IsAtomicWriterTempName(BaseName(writer->temp_path())));
  EXPECT_EQ(DirName(writer->temp_path()), dir.path());
  ASSERT_TRUE(writer->Append("new ").ok());
  ASSERT_TRUE(writer->Append("content").ok());
  EXPECT_EQ(Read(path), "old");
  ASSERT_TRUE(writer->Commit().ok());
  EXPECT_EQ(Read(path), "new content");
  EXPECT_THAT(ListDir(dir.path()), ElementsAre("f"));
}

TEST(FileIoTest, AbandonedWriterLeavesNothing) {
  testing::TempDir dir;
  {
    absl::StatusOr<AtomicFileWriter> writer = AtomicFileWriter::Create(dir.Join("new"));
    ASSERT_TRUE(writer.ok()) << writer.status();
    ASSERT_TRUE(writer->Append("partial").ok());
  }
  EXPECT_THAT(ListDir(dir.path()), IsEmpty());

  ASSERT_TRUE(WriteFileAtomically(dir.Join("kept"), "previous").ok());
  {
    absl::StatusOr<AtomicFileWriter> writer = AtomicFileWriter::Create(dir.Join("kept"));
    ASSERT_TRUE(writer.ok()) << writer.status();
    ASSERT_TRUE(writer->Append("half of the new").ok());
  }
  EXPECT_EQ(Read(dir.Join("kept")), "previous");
  EXPECT_THAT(ListDir(dir.path()), ElementsAre("kept"));
}

TEST(FileIoTest, MovedWriterCommitsOnceAndFinishedWriterRefuses) {
  testing::TempDir dir;
  absl::StatusOr<AtomicFileWriter> created = AtomicFileWriter::Create(dir.Join("f"));
  ASSERT_TRUE(created.ok());
  AtomicFileWriter writer = std::move(*created);
  ASSERT_TRUE(writer.Append("x").ok());
  ASSERT_TRUE(writer.Commit().ok());
  EXPECT_EQ(writer.Commit().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(writer.Append("y").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Read(dir.Join("f")), "x");
}

TEST(FileIoTest, CreateInMissingDirectoryIsNotFound) {
  testing::TempDir dir;
  const absl::StatusOr<AtomicFileWriter> writer = AtomicFileWriter::Create(dir.Join("no/f"));
  EXPECT_EQ(writer.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(writer.status().message()), HasSubstr(dir.Join("no/.f.tmp.")));
}

// Runs in a child whose file-size limit makes write() fail with EFBIG: the
// failed Append must stop a later Commit from publishing the prefix.
int AppendPastFileSizeLimit(const std::string& dir) {
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit limit;
  limit.rlim_cur = limit.rlim_max = 16;
  if (setrlimit(RLIMIT_FSIZE, &limit) != 0) return 2;
  absl::StatusOr<AtomicFileWriter> writer = AtomicFileWriter::Create(JoinPath(dir, "f"));
  if (!writer.ok()) return 3;
  if (writer->Append(std::string(64, 'x')).ok()) return 4;
  if (writer->Commit().code() != absl::StatusCode::kFailedPrecondition) return 5;
  return ListDir(dir).empty() ? 0 : 6;
}

TEST(FileIoTest, FailedAppendAbandonsTheWriter) {
  testing::TempDir dir;
  EXPECT_EXIT(std::exit(AppendPastFileSizeLimit(dir.path())), ::testing::ExitedWithCode(0), "");
}

TEST(FileIoTest, TempNameRecognition) {
  EXPECT_TRUE(IsAtomicWriterTempName(".latest.tmp.0123456789abcdef"));
  EXPECT_FALSE(IsAtomicWriterTempName("latest.tmp.0123456789abcdef"));
  EXPECT_FALSE(IsAtomicWriterTempName(".latest.tmp.0123456789ABCDEF"));
  EXPECT_FALSE(IsAtomicWriterTempName(".latest.tmp.0123456789abcde"));
  EXPECT_FALSE(IsAtomicWriterTempName(".latest.tmpx0123456789abcdef"));
  EXPECT_FALSE(IsAtomicWriterTempName("latest"));
}

TEST(FileIoTest, ReadFileToStringBoundsAndErrors) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir.Join("f"), "12345").ok());
  EXPECT_EQ(ReadFileToString(dir.Join("f"), 5).value_or(""), "12345");
  const absl::StatusOr<std::string> too_big = ReadFileToString(dir.Join("f"), 4);
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(too_big.status().message()), HasSubstr(dir.Join("f")));
  EXPECT_EQ(ReadFileToString(dir.Join("absent"), 4).status().code(), absl::StatusCode::kNotFound);
}

TEST(FileIoTest, FsyncPathFilesAndDirectories) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir.Join("f"), "x").ok());
  EXPECT_TRUE(FsyncPath(dir.Join("f")).ok());
  EXPECT_TRUE(FsyncPath(dir.path()).ok());
  EXPECT_EQ(FsyncPath(dir.Join("absent")).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace spindle::formats
