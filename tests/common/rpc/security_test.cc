// common/rpc: loading token and TLS files (errors name the file and the fix,
// never the secret) and comparing tokens.
#include "common/rpc/security.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "common/rpc/token_check.h"
#include "tests/testing/temp_dir.h"

namespace spindle::rpc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Write(const spindle::testing::TempDir& dir, const std::string& name,
                  const std::string& text, mode_t mode = 0600) {
  const std::string path = dir.Join(name);
  std::ofstream(path) << text;
  chmod(path.c_str(), mode);
  return path;
}

TEST(ConstantTimeEqualsTest, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("Bearer abc", "Bearer abc"));
  EXPECT_FALSE(ConstantTimeEquals("Bearer abc", "Bearer abd"));
  EXPECT_FALSE(ConstantTimeEquals("Bearer abc", "Bearer ab"));
  EXPECT_FALSE(ConstantTimeEquals("Bearer ab", "Bearer abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(LoadSecurityTest, ReadsATokenFileWithoutItsNewline) {
  spindle::testing::TempDir dir;
  absl::StatusOr<Security> s = LoadSecurity({Write(dir, "t", "  abc-123_XYZ\n")});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->token, "abc-123_XYZ");
  EXPECT_FALSE(s->tls());
  EXPECT_EQ(Describe(*s).rfind("plaintext, bearer token", 0), 0u) << Describe(*s);
}

TEST(LoadSecurityTest, RefusesTokenFilesOthersCanReadAndNeverShowsTheSecret) {
  spindle::testing::TempDir dir;
  const std::string path = Write(dir, "t", "topsecret\n", 0640);
  absl::StatusOr<Security> s = LoadSecurity({path});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("chmod 600 " + path));
  EXPECT_THAT(s.status().message(), Not(HasSubstr("topsecret")));

  s = LoadSecurity({Write(dir, "empty", "\n")});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("empty"));
  s = LoadSecurity({Write(dir, "spaced", "two words\n")});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("without spaces"));
  EXPECT_THAT(s.status().message(), Not(HasSubstr("two words")));
  s = LoadSecurity({dir.Join("missing")});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("chmod 600"));
}

TEST(LoadSecurityTest, TlsFilesMustComeInPairsAndBePem) {
  spindle::testing::TempDir dir;
  SecurityFiles f;
  f.tls_cert = Write(dir, "cert.pem", "-----BEGIN CERTIFICATE-----\n");
  EXPECT_THAT(LoadSecurity(f).status().message(), HasSubstr("--tls_cert and --tls_key"));
  f.tls_key = Write(dir, "key.pem", "not pem");
  EXPECT_THAT(LoadSecurity(f).status().message(), HasSubstr("--tls_key " + f.tls_key));
  f.tls_key = Write(dir, "key2.pem", "-----BEGIN PRIVATE KEY-----\n");
  f.client_auth = true;
  EXPECT_THAT(LoadSecurity(f).status().message(), HasSubstr("--tls_client_auth needs --tls_ca"));
  f.tls_ca = Write(dir, "ca.pem", "-----BEGIN CERTIFICATE-----\n");
  absl::StatusOr<Security> s = LoadSecurity(f);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->tls());
  EXPECT_EQ(Describe(*s).rfind("TLS (mutual), no authentication", 0), 0u) << Describe(*s);
}

TEST(LoadSecurityTest, ChildProcessesGetPathsNotSecrets) {
  SecurityFiles f;
  f.token_file = "/etc/spindle/token";
  f.tls_ca = "/etc/spindle/ca.pem";
  EXPECT_THAT(EnvironmentFor(f), ::testing::ElementsAre("SPINDLE_TOKEN_FILE=/etc/spindle/token",
                                                        "SPINDLE_TLS_CA=/etc/spindle/ca.pem"));
}

}  // namespace
}  // namespace spindle::rpc
