#include "common/checkpoint/manifest.h"

#include <string>

#include "common/checkpoint/crc32c.h"
#include "common/formats/file_io.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace spindle::checkpoint {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ManifestTest, SerializeParseRoundTrip) {
  Manifest m;
  m.step = 20;
  m.files = {{"model.safetensors", 4096, 0xDEADBEEF}, {"shards/rank0.bin", 0, 0}};
  const std::string text = SerializeManifest(m);
  EXPECT_THAT(text, StartsWith("{\n  \"format\": \"spindle-checkpoint/1\",\n  \"step\": 20,"));
  absl::StatusOr<Manifest> back = ParseManifest("M", text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->step, 20);
  ASSERT_EQ(back->files.size(), 2u);
  EXPECT_EQ(back->files[0].name, "model.safetensors");
  EXPECT_EQ(back->files[0].bytes, 4096u);
  EXPECT_EQ(back->files[0].crc32c, 0xDEADBEEFu);
  EXPECT_EQ(back->files[1].name, "shards/rank0.bin");
}

TEST(ManifestTest, RejectsWhatIsNotAManifest) {
  const std::string ok_file = R"({"name":"a","bytes":1,"crc32c":2})";
  const struct {
    std::string text;
    absl::StatusCode code;
    const char* message;
  } cases[] = {
      {"", absl::StatusCode::kDataLoss, "not JSON"},
      {"[]", absl::StatusCode::kDataLoss, "not a JSON object"},
      {R"({"step":1,"files":[]})", absl::StatusCode::kDataLoss, "no \"format\""},
      {R"({"format":"spindle-checkpoint/2","step":1,"files":[]})",
       absl::StatusCode::kFailedPrecondition, "is not spindle-checkpoint/1"},
      {R"({"format":"spindle-checkpoint/1","step":-1,"files":[]})", absl::StatusCode::kDataLoss,
       "no non-negative integer \"step\""},
      {R"({"format":"spindle-checkpoint/1","step":1})", absl::StatusCode::kDataLoss,
       "no \"files\" array"},
      {R"({"format":"spindle-checkpoint/1","step":1,"files":[{"name":"a","bytes":1,"crc32c":4294967296}]})",
       absl::StatusCode::kDataLoss, "32-bit integer"},
      {R"({"format":"spindle-checkpoint/1","step":1,"files":[{"name":"../a","bytes":1,"crc32c":2}]})",
       absl::StatusCode::kDataLoss, "not a relative path"},
      {R"({"format":"spindle-checkpoint/1","step":1,"files":[{"name":"MANIFEST.json","bytes":1,"crc32c":2}]})",
       absl::StatusCode::kDataLoss, "not a relative path"},
      {R"({"format":"spindle-checkpoint/1","step":1,"files":[)" + ok_file + "," + ok_file + "]}",
       absl::StatusCode::kDataLoss, "listed twice"},
  };
  for (const auto& c : cases) {
    const absl::StatusOr<Manifest> m = ParseManifest("dir/MANIFEST.json", c.text);
    EXPECT_EQ(m.status().code(), c.code) << c.text << " -> " << m.status();
    EXPECT_THAT(std::string(m.status().message()), StartsWith("dir/MANIFEST.json: "));
    EXPECT_THAT(std::string(m.status().message()), HasSubstr(c.message)) << c.text;
  }
}

TEST(ManifestTest, SafeRelativeNames) {
  for (const char* ok : {"a", "a/b", "model.safetensors", ".hidden", "a..b"}) {
    EXPECT_TRUE(IsSafeRelativeName(ok)) << ok;
  }
  for (const char* bad : {"", "/a", "a/", "a//b", ".", "..", "a/../b", "./a"}) {
    EXPECT_FALSE(IsSafeRelativeName(bad)) << bad;
  }
}

TEST(ManifestTest, DigestFileReadsWholeFile) {
  testing::TempDir dir;
  const std::string big(3 << 20 | 5, 'z');  // spans several read chunks
  ASSERT_TRUE(formats::WriteFileAtomically(dir.Join("f"), big).ok());
  absl::StatusOr<FileDigest> d = DigestFile(dir.Join("f"), /*sync=*/true);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->bytes, big.size());
  EXPECT_EQ(d->crc32c, Crc32c(big));
  EXPECT_EQ(DigestFile(dir.Join("absent"), false).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace spindle::checkpoint
