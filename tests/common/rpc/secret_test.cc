// common/rpc/secret: random secrets and the 0600 files that carry them.
#include "common/rpc/secret.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>

#include "tests/testing/temp_dir.h"

namespace spindle::rpc {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

TEST(SecretTest, NewSecretsAre128RandomBitsInHex) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string s = NewSecret();
    EXPECT_THAT(s, MatchesRegex("[0-9a-f]{32}"));
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(SecretTest, WrittenFilesAreOwnerOnlyAndReadBack) {
  spindle::testing::TempDir dir;
  const std::string path = dir.Join("attempt.key");
  const std::string secret = NewSecret();
  ASSERT_TRUE(WriteSecretFile(path, secret).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<std::string> back = ReadSecretFile("attempt key file", path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, secret);

  // Replacing keeps the mode and leaves no temporary file behind.
  ASSERT_TRUE(WriteSecretFile(path, "second").ok());
  EXPECT_EQ(*ReadSecretFile("attempt key file", path), "second");
  EXPECT_NE(::stat((path + ".tmp").c_str(), &st), 0);
}

TEST(SecretTest, ErrorsNameTheFileAndTheFix) {
  spindle::testing::TempDir dir;
  const std::string path = dir.Join("missing.key");
  absl::StatusOr<std::string> s = ReadSecretFile("attempt key file", path);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("attempt key file " + path));
  EXPECT_THAT(s.status().message(), HasSubstr("chmod 600"));
  EXPECT_FALSE(WriteSecretFile(dir.Join("no/such/dir/key"), "x").ok());
}

}  // namespace
}  // namespace spindle::rpc
