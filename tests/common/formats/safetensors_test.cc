#include "common/formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace spindle::formats {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Le64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * i));
  return out;
}

// A file image: length prefix, the header text as given, then data_bytes zeros.
std::string Image(const std::string& header, size_t data_bytes) {
  return Le64(header.size()) + header + std::string(data_bytes, '\0');
}

absl::StatusOr<SafetensorsContents> Parse(const std::string& image) {
  return ParseSafetensors("t.safetensors", reinterpret_cast<const uint8_t*>(image.data()),
                          image.size());
}

std::string Written(const SafetensorsWriter& writer, const std::string& path) {
  EXPECT_TRUE(writer.Write(path).ok());
  absl::StatusOr<MappedFile> file = MappedFile::Open(path);
  EXPECT_TRUE(file.ok()) << file.status();
  return std::string(reinterpret_cast<const char*>(file->data()), file->size());
}

TEST(SafetensorsTest, RoundTrip) {
  const std::vector<float> w = {1.5f, -2.0f, 3.25f, 4.0f, 5.0f, 6.0f};
  const std::vector<uint16_t> b = {0x3f80, 0x4000};
  const uint8_t flag = 1;
  const int64_t step = 1234567890123;
  SafetensorsWriter writer;
  ASSERT_TRUE(writer.AddTensor("model.w", DType::kF32, {2, 3}, w.data(), 24).ok());
  ASSERT_TRUE(writer.AddTensor("model.b", DType::kBF16, {2}, b.data(), 4).ok());
  ASSERT_TRUE(writer.AddTensor("flag", DType::kBool, {1}, &flag, 1).ok());
  ASSERT_TRUE(writer.AddTensor("step", DType::kI64, {}, &step, 8).ok());
  ASSERT_TRUE(writer.AddTensor("empty", DType::kF16, {0, 4}, nullptr, 0).ok());
  ASSERT_TRUE(writer.AddMetadata("format", "pt").ok());

  testing::TempDir dir;
  const std::string path = dir.Join("model.safetensors");
  ASSERT_TRUE(writer.Write(path).ok());
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();

  std::vector<std::string> names;
  for (const TensorView& t : file->tensors()) {
    names.push_back(t.name);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % DTypeSize(t.dtype), 0u) << t.name;
  }
  EXPECT_THAT(names, ElementsAre("empty", "flag", "model.b", "model.w", "step"));
  EXPECT_THAT(file->metadata(),
              ElementsAre(std::pair<const std::string, std::string>("format", "pt")));

  const TensorView* tw = file->Get("model.w").value();
  EXPECT_EQ(tw->dtype, DType::kF32);
  EXPECT_THAT(tw->shape, ElementsAre(2, 3));
  ASSERT_EQ(tw->bytes, 24u);
  EXPECT_EQ(std::memcmp(tw->data, w.data(), 24), 0);
  const TensorView* ts = file->Find("step");
  ASSERT_NE(ts, nullptr);
  EXPECT_TRUE(ts->shape.empty());
  int64_t step_back = 0;
  std::memcpy(&step_back, ts->data, 8);
  EXPECT_EQ(step_back, step);
  EXPECT_EQ(std::memcmp(file->Find("model.b")->data, b.data(), 4), 0);
  EXPECT_EQ(file->Find("empty")->bytes, 0u);
  EXPECT_THAT(file->Find("empty")->shape, ElementsAre(0, 4));

  EXPECT_EQ(file->Find("absent"), nullptr);
  const absl::StatusOr<const TensorView*> absent = file->Get("absent");
  EXPECT_EQ(absent.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(absent.status().message()), StartsWith(path + ": no tensor \"absent\""));
}

// Derived by hand from the format rules: F32 sorts before U8 (larger
// alignment first); "__metadata__" comes first. The JSON is
//   {"__metadata__":{"k":"v"},                                  26 bytes
//   "w":{"dtype":"F32","shape":[],"data_offsets":[0,4]},         52 bytes
//   "x":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}         52 bytes
// = 130 bytes, padded with 6 spaces to N = 136 = 0x88; the data region
// (file offset 144) holds 1.0f little-endian, then the two U8 bytes.
TEST(SafetensorsTest, GoldenBytesDerivedByHand) {
  const std::string json =
      "{\"__metadata__\":{\"k\":\"v\"},"
      "\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
      "\"x\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]}}";
  ASSERT_EQ(json.size(), 130u);
  const std::string golden = std::string("\x88\0\0\0\0\0\0\0", 8) + json + "      " +
                             std::string("\x00\x00\x80\x3f\x01\x02", 6);
  ASSERT_EQ(golden.size(), 150u);

  const float one = 1.0f;
  const uint8_t x[2] = {1, 2};
  SafetensorsWriter writer;
  ASSERT_TRUE(writer.AddTensor("x", DType::kU8, {2}, x, 2).ok());
  ASSERT_TRUE(writer.AddTensor("w", DType::kF32, {}, &one, 4).ok());
  ASSERT_TRUE(writer.AddMetadata("k", "v").ok());
  EXPECT_EQ(writer.SerializeHeader(), golden.substr(0, 144));
  testing::TempDir dir;
  EXPECT_EQ(Written(writer, dir.Join("golden.safetensors")), golden);
  EXPECT_TRUE(Parse(golden).ok());
}

// Byte sequences from the reference implementation's own unit tests
// (safetensors/src/tensor.rs: test_empty, test_serialization_forced_alignement).
TEST(SafetensorsTest, MatchesReferenceWriterVectors) {
  EXPECT_EQ(SafetensorsWriter().SerializeHeader(), Le64(8) + "{}      ");

  SafetensorsWriter with_metadata;
  ASSERT_TRUE(with_metadata.AddMetadata("framework", "pt").ok());
  EXPECT_EQ(with_metadata.SerializeHeader(),
            Le64(40) + "{\"__metadata__\":{\"framework\":\"pt\"}}     ");

  const float data[6] = {0, 1, 2, 3, 4, 5};
  SafetensorsWriter attn;
  ASSERT_TRUE(attn.AddTensor("attn0", DType::kF32, {1, 1, 2, 3}, data, 24).ok());
  EXPECT_EQ(attn.SerializeHeader(),
            Le64(72) +
                "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}" +
                "       ");
}

TEST(SafetensorsTest, WriterOrdersByAlignmentThenName) {
  const uint8_t bytes[8] = {};
  SafetensorsWriter writer;
  ASSERT_TRUE(writer.AddTensor("a_u8", DType::kU8, {1}, bytes, 1).ok());
  ASSERT_TRUE(writer.AddTensor("z_f64", DType::kF64, {1}, bytes, 8).ok());
  ASSERT_TRUE(writer.AddTensor("b_bf16", DType::kBF16, {1}, bytes, 2).ok());
  ASSERT_TRUE(writer.AddTensor("a_bf16", DType::kBF16, {1}, bytes, 2).ok());
  ASSERT_TRUE(writer.AddTensor("c_f16", DType::kF16, {1}, bytes, 2).ok());
  const std::string header = writer.SerializeHeader();
  std::vector<size_t> at;
  for (const char* name : {"z_f64", "a_bf16", "b_bf16", "c_f16", "a_u8"}) {
    at.push_back(header.find(std::string("\"") + name + "\""));
  }
  EXPECT_TRUE(std::is_sorted(at.begin(), at.end())) << header;
  EXPECT_THAT(header,
              HasSubstr("\"a_bf16\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[8,10]}"));
}

TEST(SafetensorsTest, NamesAreEscapedLikeSerdeJsonAndRoundTrip) {
  const std::string name = "q\"b\\n\nt\t\x01 \xc3\xa9/";
  const uint8_t byte = 7;
  SafetensorsWriter writer;
  ASSERT_TRUE(writer.AddTensor(name, DType::kU8, {1}, &byte, 1).ok());
  const std::string header = writer.SerializeHeader();
  EXPECT_THAT(header, HasSubstr("\"q\\\"b\\\\n\\nt\\t\\u0001 \xc3\xa9/\":"));
  const std::string image = header + "\x07";
  absl::StatusOr<SafetensorsContents> parsed = Parse(image);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->tensors.size(), 1u);
  EXPECT_EQ(parsed->tensors[0].name, name);
}

TEST(SafetensorsTest, WriterRejectsBadTensors) {
  const uint8_t bytes[16] = {};
  SafetensorsWriter writer;
  ASSERT_TRUE(writer.AddTensor("a", DType::kU8, {4}, bytes, 4).ok());
  EXPECT_THAT(std::string(writer.AddTensor("a", DType::kU8, {4}, bytes, 4).message()),
              HasSubstr("added twice"));
  EXPECT_FALSE(writer.AddTensor("", DType::kU8, {1}, bytes, 1).ok());
  EXPECT_FALSE(writer.AddTensor("__metadata__", DType::kU8, {1}, bytes, 1).ok());
  EXPECT_THAT(std::string(writer.AddTensor("\xff", DType::kU8, {1}, bytes, 1).message()),
              HasSubstr("not UTF-8"));
  EXPECT_THAT(std::string(writer.AddTensor("neg", DType::kU8, {-1}, bytes, 0).message()),
              HasSubstr("negative dim"));
  EXPECT_THAT(std::string(writer.AddTensor("size", DType::kF32, {3}, bytes, 8).message()),
              HasSubstr("needs 12 bytes, but 8 were given"));
  EXPECT_FALSE(writer.AddTensor("null", DType::kF32, {1}, nullptr, 4).ok());
  EXPECT_THAT(
      std::string(
          writer.AddTensor("huge", DType::kU64, {1LL << 40, 1LL << 40}, bytes, 0).message()),
      HasSubstr("overflows"));
  ASSERT_TRUE(writer.AddMetadata("k", "v").ok());
  EXPECT_THAT(std::string(writer.AddMetadata("k", "w").message()), HasSubstr("added twice"));
  EXPECT_FALSE(writer.AddMetadata("bad", "\xc0\x80").ok());  // overlong NUL
  EXPECT_EQ(writer.AddTensor("ok", DType::kU8, {16}, bytes, 16).code(), absl::StatusCode::kOk);
}

TEST(SafetensorsTest, WriteToMissingDirectoryNamesThePath) {
  testing::TempDir dir;
  const absl::Status s = SafetensorsWriter().Write(dir.Join("missing/m.safetensors"));
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr(dir.Join("missing/")));
}

TEST(SafetensorsTest, ParserAcceptsWhatTheReferenceAccepts) {
  // Offsets listed out of order, zero-size tensors sharing an offset, null
  // metadata, and a header length that is not a multiple of 8.
  const std::string header =
      "{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]},"
      "\"__metadata__\":null,"
      "\"e1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[2,2]},"
      "\"e2\":{\"dtype\":\"F32\",\"shape\":[3,0],\"data_offsets\":[2,2]},"
      "\"a\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[0,2]}}";
  absl::StatusOr<SafetensorsContents> parsed = Parse(Image(header, 4));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->tensors.size(), 4u);
  EXPECT_TRUE(parsed->metadata.empty());
  EXPECT_EQ(parsed->header_bytes, header.size());
}

TEST(SafetensorsTest, OpenOfCorruptFileNamesThePath) {
  testing::TempDir dir;
  const std::string path = dir.Join("torn.safetensors");
  const uint8_t bytes[4] = {};
  SafetensorsWriter writer;
  ASSERT_TRUE(writer.AddTensor("a", DType::kF32, {1}, bytes, 4).ok());
  std::string image = Written(writer, path);
  std::filesystem::resize_file(path, image.size() - 1);
  const absl::StatusOr<SafetensorsFile> file = SafetensorsFile::Open(path);
  EXPECT_EQ(file.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(file.status().message()), StartsWith(path + ": tensor \"a\""));
  EXPECT_THAT(std::string(file.status().message()), HasSubstr("truncated"));
}

}  // namespace
}  // namespace spindle::formats
