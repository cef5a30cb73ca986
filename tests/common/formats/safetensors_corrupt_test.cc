// ParseSafetensors over a table of damaged file images: each must fail with
// the right code and a message that starts with the file and names the problem.
#include <string>
#include <vector>

#include "common/formats/safetensors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spindle::formats {
namespace {

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

struct CorruptCase {
  const char* name;
  std::string image;
  absl::StatusCode code;
  const char* message;  // a substring of the error
};

std::string U8(const char* name, int begin, int end) {
  return "\"" + std::string(name) + "\":{\"dtype\":\"U8\",\"shape\":[" +
         std::to_string(end - begin) + "],\"data_offsets\":[" + std::to_string(begin) + "," +
         std::to_string(end) + "]}";
}

std::vector<CorruptCase> CorruptCases() {
  using C = absl::StatusCode;
  const C kBad = C::kInvalidArgument;
  return {
      {"EmptyFile", "", C::kDataLoss, "0 bytes, too short for the 8-byte header length"},
      {"TruncatedLength", std::string("\x10\0\0", 3), C::kDataLoss, "too short"},
      {"LengthPastEof", Le64(1000) + "{}", C::kDataLoss,
       "header length 1000 bytes runs past the end of the 10-byte file"},
      {"LengthOverLimit", Le64(100'000'001) + "{}", kBad, "exceeds the limit of 100000000"},
      {"LengthMaxU64", Le64(~uint64_t{0}) + "{}", kBad, "exceeds the limit"},
      {"NotUtf8", Image("{\"\xff\":1}", 0), kBad, "header is not UTF-8"},
      {"NotAnObject", Image("[]", 0), kBad, "header does not start with '{'"},
      {"LeadingSpace", Image(" {}", 0), kBad, "does not start with '{'"},
      {"BadJson", Image("{\"a\":", 0), kBad, "header is not valid JSON"},
      {"TrailingGarbage", Image("{} x", 0), kBad, "header is not valid JSON"},
      {"NulPadding", Image(std::string("{}\0\0", 4), 0), kBad, "NUL byte at offset 2"},
      {"NulThenGarbage", Image(std::string("{}\0garbage", 10), 0), kBad, "NUL byte"},
      {"DuplicateName", Image("{" + U8("a", 0, 1) + "," + U8("a", 0, 1) + "}", 1), kBad,
       "header names \"a\" twice"},
      {"DuplicateField",
       Image("{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1),
       kBad, "names \"dtype\" twice"},
      {"EntryNotObject", Image("{\"a\":1}", 0), kBad, "tensor \"a\": must be an object"},
      {"MissingDtype", Image("{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1), kBad,
       "tensor \"a\": missing \"dtype\""},
      {"UnknownField",
       Image("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":0}}", 1), kBad,
       "unknown field \"x\""},
      {"UnknownDtype", Image("{\"a\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1),
       kBad, "tensor \"a\": unknown dtype \"F7\"; Spindle reads BOOL, U8"},
      {"LowercaseDtype",
       Image("{\"a\":{\"dtype\":\"u8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1), kBad,
       "unknown dtype \"u8\""},
      {"SubByteDtype", Image("{\"a\":{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[0,1]}}", 1),
       kBad, "sub-byte dtype \"F4\""},
      {"NegativeDim", Image("{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}", 1),
       kBad, "shape [-1]: -1 is not an integer"},
      {"FloatDim", Image("{\"a\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}", 1),
       kBad, "shape [1.0]"},
      {"OffsetsNotPair", Image("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", 1),
       kBad, "data_offsets must be [begin, end]"},
      {"OffsetsReversed",
       Image("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,0]}}", 1), kBad,
       "end before they begin"},
      {"OffsetsOutOfRange", Image("{" + U8("a", 0, 8) + "}", 4), C::kDataLoss,
       "tensor \"a\": data_offsets [0, 8] run past the 4-byte data region"},
      {"OverlappingOffsets", Image("{" + U8("a", 0, 4) + "," + U8("b", 2, 6) + "}", 6), kBad,
       "tensor \"b\": data_offsets [2, 6] overlap tensor \"a\" at [0, 4]"},
      {"GapBetweenTensors", Image("{" + U8("a", 0, 4) + "," + U8("b", 8, 12) + "}", 12), kBad,
       "data bytes [4, 8) belong to no tensor"},
      {"TrailingData", Image("{" + U8("a", 0, 4) + "}", 6), kBad,
       "the tensors cover 4 bytes of the 6-byte data region"},
      {"ShapeSizeMismatch",
       Image("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,4]}}", 4), kBad,
       "tensor \"a\": shape [3] of F32 needs 12 bytes, but data_offsets [0, 4] span 4"},
      {"ShapeOverflow",
       Image("{\"a\":{\"dtype\":\"U64\",\"shape\":[4294967296,4294967296],"
             "\"data_offsets\":[0,0]}}",
             0),
       kBad, "needs more than 2^64 bytes"},
      {"MetadataNotStrings", Image("{\"__metadata__\":{\"k\":1}}", 0), kBad,
       "\"__metadata__\" value of \"k\" must be a string"},
      {"MetadataNotObject", Image("{\"__metadata__\":[]}", 0), kBad,
       "\"__metadata__\" must be an object"},
  };
}

void PrintTo(const CorruptCase& c, std::ostream* os) { *os << c.name; }

class SafetensorsCorruptTest : public ::testing::TestWithParam<CorruptCase> {};

TEST_P(SafetensorsCorruptTest, GivesAClearError) {
  const CorruptCase& c = GetParam();
  const absl::StatusOr<SafetensorsContents> parsed = Parse(c.image);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), c.code) << parsed.status();
  EXPECT_THAT(std::string(parsed.status().message()), StartsWith("t.safetensors: "));
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(Table, SafetensorsCorruptTest, ::testing::ValuesIn(CorruptCases()),
                         [](const ::testing::TestParamInfo<CorruptCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace spindle::formats
