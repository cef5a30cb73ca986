#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "common/data/synthetic.h"
#include "common/data/token_file.h"
#include "common/data/token_source.h"

namespace spindle::data {
namespace {

using ::testing::HasSubstr;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

class DataFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/spindle_data_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes raw bytes to dir_/name and returns the path.
  std::string Write(const std::string& name, const void* data, size_t bytes) {
    const std::string path = dir_ + "/" + name;
    std::ofstream f(path, std::ios::binary);
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
    return path;
  }
  template <typename T>
  std::string WriteTokens(const std::string& name, const std::vector<T>& tokens) {
    return Write(name, tokens.data(), tokens.size() * sizeof(T));
  }
  // An llm.c file: header {magic, version, count}, then the ids.
  template <typename T>
  std::string WriteLlmc(const std::string& name, int32_t version, int32_t count,
                        const std::vector<T>& tokens) {
    std::vector<uint8_t> bytes(kLlmcHeaderBytes + tokens.size() * sizeof(T), 0);
    const int32_t header[3] = {kLlmcMagic, version, count};
    std::memcpy(bytes.data(), header, sizeof(header));
    std::memcpy(bytes.data() + kLlmcHeaderBytes, tokens.data(), tokens.size() * sizeof(T));
    return Write(name, bytes.data(), bytes.size());
  }

  std::string dir_;
};

TokenFileOptions Uint16(int vocab_size, int64_t seq_len) {
  return TokenFileOptions{TokenFileKind::kTokens, 2, vocab_size, seq_len};
}

std::vector<uint16_t> Iota16(int n) {
  std::vector<uint16_t> v(n);
  for (int i = 0; i < n; ++i) v[i] = static_cast<uint16_t>(i);
  return v;
}

TEST_F(DataFileTest, MissingAndNonRegularFilesNameThePath) {
  auto missing = TokenFile::Open(dir_ + "/nope.bin", Uint16(100, 4));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(missing.status()), HasSubstr(dir_ + "/nope.bin: cannot read token file"));
  auto dir = TokenFile::Open(dir_, Uint16(100, 4));
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(Message(dir.status()), HasSubstr("not a regular file"));
}

TEST_F(DataFileTest, UnreadableFileIsPermissionDenied) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file";
  const std::string path = WriteTokens("locked.bin", Iota16(8));
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  auto f = TokenFile::Open(path, Uint16(100, 4));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Message(f.status()), HasSubstr(path));
}

TEST_F(DataFileTest, SizeMustBeAWholeNumberOfTokens) {
  std::vector<uint8_t> bytes(1002, 1);
  const std::string path = Write("x.bin", bytes.data(), 1001);
  auto f = TokenFile::Open(path, Uint16(1000, 4));
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(Message(f.status()),
              HasSubstr(path + ": 1001 bytes is not a whole number of uint16 tokens (2 bytes "
                               "each): wrong dtype or truncated file"));
  auto as32 =
      TokenFile::Open(Write("y.bin", bytes.data(), 1002), {TokenFileKind::kTokens, 4, 9, 4});
  ASSERT_FALSE(as32.ok());
  EXPECT_THAT(Message(as32.status()), HasSubstr("uint32 tokens (4 bytes each)"));
}

TEST_F(DataFileTest, ReadsRawUint16AndUint32) {
  auto f16 = TokenFile::Open(WriteTokens("a.bin", Iota16(10)), Uint16(10, 9));
  ASSERT_TRUE(f16.ok()) << f16.status();
  EXPECT_EQ(f16->num_tokens(), 10);
  EXPECT_FALSE(f16->has_llmc_header());
  EXPECT_EQ(f16->Token(7), 7);
  const std::vector<uint32_t> big = {70000, 1, 128255};
  auto f32 = TokenFile::Open(WriteTokens("b.bin", big), {TokenFileKind::kTokens, 4, 128256, 2});
  ASSERT_TRUE(f32.ok()) << f32.status();
  std::vector<int64_t> out(3);
  f32->Read(0, absl::MakeSpan(out));
  EXPECT_EQ(out, (std::vector<int64_t>{70000, 1, 128255}));
}

TEST_F(DataFileTest, DetectsTheLlmcHeaderByMagic) {
  auto v1 = TokenFile::Open(WriteLlmc("v1.bin", 1, 6, Iota16(6)), Uint16(50257, 5));
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_TRUE(v1->has_llmc_header());
  EXPECT_EQ(v1->num_tokens(), 6);
  EXPECT_EQ(v1->Token(0), 0);
  EXPECT_EQ(v1->Token(5), 5);
  const std::vector<uint32_t> ids = {128000, 9, 8};
  auto v2 = TokenFile::Open(WriteLlmc("v2.bin", 2, 3, ids), {TokenFileKind::kTokens, 4, 128256, 2});
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->num_tokens(), 3);
  EXPECT_EQ(v2->Token(0), 128000);
}

TEST_F(DataFileTest, LlmcVersionMustMatchTheDtype) {
  const std::vector<uint32_t> ids = {1, 2, 3};
  const std::string path = WriteLlmc("v2.bin", 2, 3, ids);
  auto f = TokenFile::Open(path, Uint16(100, 2));
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(Message(f.status()), HasSubstr(path + ": llm.c header version 2 means uint32 tokens "
                                                    "but the job reads uint16 tokens"));
  EXPECT_THAT(Message(f.status()), HasSubstr("set the data dtype to uint32"));
  auto bad = TokenFile::Open(WriteLlmc("v7.bin", 7, 3, Iota16(3)), Uint16(100, 2));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(Message(bad.status()), HasSubstr("version 7 is neither 1"));
}

TEST_F(DataFileTest, LlmcCountDisagreeingWithSizeIsTruncation) {
  const std::string path = WriteLlmc("short.bin", 1, 100, Iota16(60));
  auto f = TokenFile::Open(path, Uint16(100, 2));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(f.status()),
              HasSubstr(path + ": llm.c header says 100 tokens (200 bytes after the 1024-byte "
                               "header) but the file holds 120 bytes"));
  EXPECT_FALSE(TokenFile::Open(WriteLlmc("long.bin", 1, 10, Iota16(60)), Uint16(100, 2)).ok());
  const int32_t magic_only[2] = {kLlmcMagic, 1};
  auto cut = TokenFile::Open(Write("cut.bin", magic_only, sizeof(magic_only)), Uint16(100, 1));
  ASSERT_FALSE(cut.ok());
  EXPECT_THAT(Message(cut.status()), HasSubstr("less than the 1024-byte header"));
}

TEST_F(DataFileTest, NamesTheFirstTokenOutsideTheVocabulary) {
  std::vector<uint16_t> ids = Iota16(20);
  ids[13] = 60000;
  ids[17] = 60001;
  const std::string path = WriteTokens("v.bin", ids);
  auto f = TokenFile::Open(path, Uint16(50257, 4));
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(Message(f.status()),
              HasSubstr(path + ": token 60000 at index 13 is >= vocab_size 50257"));
  EXPECT_THAT(Message(f.status()), HasSubstr("check the data dtype and vocab_size"));
}

TEST_F(DataFileTest, NeedsOneFullSequence) {
  const std::string path = WriteTokens("small.bin", Iota16(8));
  auto f = TokenFile::Open(path, Uint16(100, 8));
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(Message(f.status()),
              HasSubstr(path + ": 8 tokens, fewer than the 9 (seq_len + 1) one training sequence"));
  EXPECT_TRUE(TokenFile::Open(path, Uint16(100, 7)).ok());
  auto empty = TokenFile::Open(Write("empty.bin", "", 0), Uint16(100, 1));
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(Message(empty.status()), HasSubstr(": 0 tokens"));
}

TEST_F(DataFileTest, TextIsReadAsBytes) {
  const std::string text = "h\xc3\xa9llo";  // "héllo": é is two UTF-8 bytes
  TokenSourceOptions o;
  o.kind = TokenSourceOptions::kText;
  o.path = Write("t.txt", text.data(), text.size());
  o.seq_len = 5;
  auto src = OpenTokenSource(o);
  ASSERT_TRUE(src.ok()) << src.status();
  EXPECT_EQ((*src)->vocab_size(), 256);
  EXPECT_EQ((*src)->num_tokens(), 6);
  std::vector<int64_t> out(6);
  ASSERT_TRUE((*src)->Sequence(3, 5, absl::MakeSpan(out)).ok());
  EXPECT_EQ(out, (std::vector<int64_t>{'h', 0xc3, 0xa9, 'l', 'l', 'o'}));
  o.vocab_size = 128;  // ASCII-only vocabulary: é does not fit
  auto ascii = OpenTokenSource(o);
  ASSERT_FALSE(ascii.ok());
  EXPECT_THAT(Message(ascii.status()), HasSubstr("token 195 at index 1"));
}

TEST_F(DataFileTest, FileWindowsAreDeterministicAndCoverEveryStart) {
  TokenSourceOptions o;
  o.kind = TokenSourceOptions::kTokens;
  o.path = WriteTokens("w.bin", Iota16(12));
  o.vocab_size = 12;
  o.seq_len = 8;  // starts 0..3
  o.seed = 7;
  auto src = OpenTokenSource(o);
  ASSERT_TRUE(src.ok()) << src.status();
  std::set<int64_t> starts;
  std::vector<int64_t> a(9), b(9);
  for (int64_t index = 0; index < 200; ++index) {
    ASSERT_TRUE((*src)->Sequence(index, 8, absl::MakeSpan(a)).ok());
    ASSERT_TRUE((*src)->Sequence(index, 8, absl::MakeSpan(b)).ok());
    EXPECT_EQ(a, b);
    for (int k = 0; k < 9; ++k) EXPECT_EQ(a[k], a[0] + k);  // one contiguous window
    EXPECT_EQ(a[0], WindowStart(7, index, 12, 8));
    starts.insert(a[0]);
  }
  EXPECT_EQ(starts, (std::set<int64_t>{0, 1, 2, 3}));
  int differ = 0;
  for (int64_t index = 0; index < 64; ++index) {
    differ += WindowStart(7, index, 1 << 30, 8) != WindowStart(8, index, 1 << 30, 8);
  }
  EXPECT_GT(differ, 60);
  EXPECT_EQ((*src)->Sequence(0, 8, absl::MakeSpan(a).subspan(1)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*src)->Sequence(-1, 8, absl::MakeSpan(a)).code(), absl::StatusCode::kInvalidArgument);
  std::vector<int64_t> too_long(13);
  EXPECT_EQ((*src)->Sequence(0, 12, absl::MakeSpan(too_long)).code(),
            absl::StatusCode::kOutOfRange);
}

TEST(TokenSourceTest, FactoryRejectsBadOptions) {
  TokenSourceOptions o;
  o.vocab_size = 1;
  o.seq_len = 8;
  EXPECT_THAT(Message(OpenTokenSource(o).status()), HasSubstr("vocab_size 1 must be at least 2"));
  o.vocab_size = 10;
  o.seq_len = 0;
  EXPECT_FALSE(OpenTokenSource(o).ok());
  o.seq_len = 8;
  o.kind = TokenSourceOptions::kTokens;
  EXPECT_THAT(Message(OpenTokenSource(o).status()), HasSubstr("no path"));
}

TEST(SyntheticTest, SecondHalfRepeatsTheFirst) {
  for (int64_t s : {1, 2, 7, 8, 64, 4096}) {
    std::vector<int64_t> t(s + 1);
    ASSERT_TRUE(CopySequence(3, 11, s, 50, absl::MakeSpan(t)).ok());
    const int64_t h = CopyOffset(s);
    EXPECT_EQ(h, (s + 2) / 2);
    for (int64_t i = h; i <= s; ++i) ASSERT_EQ(t[i], t[i - h]) << "seq_len " << s << " i " << i;
    for (int64_t v : t) ASSERT_TRUE(v >= 0 && v < 50);
  }
}

TEST(SyntheticTest, DeterministicAndDifferentAcrossIndicesAndSeeds) {
  TokenSourceOptions o;
  o.vocab_size = 16;
  o.seq_len = 64;
  o.seed = 5;
  auto src = *OpenTokenSource(o);
  EXPECT_EQ(src->num_tokens(), -1);
  std::vector<int64_t> a(65), b(65), c(65), d(65);
  ASSERT_TRUE(src->Sequence(9, 64, absl::MakeSpan(a)).ok());
  ASSERT_TRUE(src->Sequence(9, 64, absl::MakeSpan(b)).ok());
  ASSERT_TRUE(src->Sequence(10, 64, absl::MakeSpan(c)).ok());
  ASSERT_TRUE(CopySequence(6, 9, 64, 16, absl::MakeSpan(d)).ok());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  std::set<int64_t> seen(a.begin(), a.end());
  seen.insert(c.begin(), c.end());
  EXPECT_EQ(seen.size(), 16u);  // 66 random draws reach all 16 ids
}

TEST(SyntheticTest, LossFloorCountsPredictableTargets) {
  const CopyTaskFloor f = CopyTaskLossFloor(4096, 256);
  EXPECT_EQ(f.targets, 4096);
  EXPECT_EQ(f.predictable_targets, 2048);
  EXPECT_DOUBLE_EQ(f.predictable_fraction, 0.5);
  EXPECT_DOUBLE_EQ(f.initial_loss, std::log(256.0));
  EXPECT_DOUBLE_EQ(f.loss_floor, 0.5 * std::log(256.0));
  EXPECT_EQ(CopyTaskLossFloor(1, 2).loss_floor, 0.0);         // t[1] = t[0]
  EXPECT_EQ(CopyTaskLossFloor(3, 2).predictable_targets, 2);  // t = a b a b
}

}  // namespace
}  // namespace spindle::data
