// File helpers for the checkpoint tests: write, read, list and commit with
// gtest assertions inside, so each test reads as its scenario.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/checkpoint/commit.h"
#include "common/checkpoint/dir_ops.h"
#include "common/formats/file_io.h"
#include "gtest/gtest.h"

namespace spindle::checkpoint::test {

inline void WriteFile(const std::string& path, const std::string& contents) {
  ASSERT_TRUE(formats::WriteFileAtomically(path, contents).ok()) << path;
}

inline std::string ReadFile(const std::string& path) {
  absl::StatusOr<std::string> text = formats::ReadFileToString(path, 1 << 24);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.value_or("");
}

inline std::vector<std::string> List(const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(dir);
  EXPECT_TRUE(names.ok()) << names.status();
  return names.value_or(std::vector<std::string>{});
}

// Commits `files` (relative name -> contents) as checkpoint `step` under
// root; returns the committed directory.
inline std::string CommitFiles(const std::string& root, int64_t step,
                               const std::map<std::string, std::string>& files) {
  absl::StatusOr<PendingCheckpoint> pending = BeginCheckpoint(root, step);
  EXPECT_TRUE(pending.ok()) << pending.status();
  if (!pending.ok()) return "";
  for (const auto& [name, contents] : files) {
    const std::string path = formats::JoinPath(pending->dir(), name);
    EXPECT_TRUE(MakeDirectories(formats::DirName(path)).ok());
    WriteFile(path, contents);
  }
  const absl::Status status = pending->Commit();
  EXPECT_TRUE(status.ok()) << status;
  return pending->dir();
}

}  // namespace spindle::checkpoint::test
