#include "common/formats/mapped_file.h"

#include <cstring>
#include <utility>

#include "common/formats/file_io.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace spindle::formats {
namespace {

using ::testing::HasSubstr;

TEST(MappedFileTest, MapsTheWholeFile) {
  testing::TempDir dir;
  const std::string path = dir.Join("data.bin");
  ASSERT_TRUE(WriteFileAtomically(path, "hello mapped world").ok());
  absl::StatusOr<MappedFile> file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->size(), 18u);
  EXPECT_EQ(std::memcmp(file->data(), "hello mapped world", 18), 0);
  EXPECT_EQ(file->path(), path);

  const uint8_t* data = file->data();
  MappedFile moved = std::move(*file);
  EXPECT_EQ(moved.data(), data);  // the mapping moves, it is not copied
  EXPECT_EQ(file->data(), nullptr);
  EXPECT_EQ(file->size(), 0u);
}

TEST(MappedFileTest, EmptyFileMapsToNothing) {
  testing::TempDir dir;
  const std::string path = dir.Join("empty");
  ASSERT_TRUE(WriteFileAtomically(path, "").ok());
  absl::StatusOr<MappedFile> file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->data(), nullptr);
  EXPECT_EQ(file->size(), 0u);
}

TEST(MappedFileTest, MissingFileIsNotFoundNamingPath) {
  testing::TempDir dir;
  const absl::StatusOr<MappedFile> file = MappedFile::Open(dir.Join("absent"));
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(file.status().message()), HasSubstr("open(" + dir.Join("absent") + ")"));
}

TEST(MappedFileTest, DirectoryIsInvalidArgument) {
  testing::TempDir dir;
  const absl::StatusOr<MappedFile> file = MappedFile::Open(dir.path());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(file.status().message()), HasSubstr("not a regular file"));
}

}  // namespace
}  // namespace spindle::formats
