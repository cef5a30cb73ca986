#include "common/formats/dtype.h"

#include <string>

#include "gtest/gtest.h"

namespace spindle::formats {
namespace {

struct Expected {
  DType dtype;
  const char* name;
  size_t size;
};

// Names and sizes as the safetensors specification writes them, in the
// reference implementation's enum order.
constexpr Expected kTable[] = {
    {DType::kBool, "BOOL", 1},      {DType::kU8, "U8", 1},          {DType::kI8, "I8", 1},
    {DType::kF8E5M2, "F8_E5M2", 1}, {DType::kF8E4M3, "F8_E4M3", 1}, {DType::kI16, "I16", 2},
    {DType::kU16, "U16", 2},        {DType::kF16, "F16", 2},        {DType::kBF16, "BF16", 2},
    {DType::kI32, "I32", 4},        {DType::kU32, "U32", 4},        {DType::kF32, "F32", 4},
    {DType::kF64, "F64", 8},        {DType::kI64, "I64", 8},        {DType::kU64, "U64", 8},
};

TEST(DTypeTest, NamesAndSizesMatchTheFormat) {
  for (const Expected& e : kTable) {
    SCOPED_TRACE(e.name);
    EXPECT_EQ(DTypeName(e.dtype), e.name);
    EXPECT_EQ(DTypeSize(e.dtype), e.size);
    EXPECT_EQ(DTypeFromName(e.name), e.dtype);
  }
}

TEST(DTypeTest, DeclarationOrderIsIncreasingAlignment) {
  for (size_t i = 1; i < std::size(kTable); ++i) {
    EXPECT_LT(static_cast<int>(kTable[i - 1].dtype), static_cast<int>(kTable[i].dtype));
    EXPECT_LE(kTable[i - 1].size, kTable[i].size) << kTable[i].name;
  }
}

TEST(DTypeTest, UnknownNamesAreRejected) {
  for (const char* name : {"", "f32", "Float32", "F4", "F6_E2M3", "F8_E8M0", "C64", "F32 "}) {
    EXPECT_EQ(DTypeFromName(name), std::nullopt) << "'" << name << "'";
  }
}

TEST(DTypeTest, KnownNamesListsEveryDtypeInOrder) {
  std::string expected;
  for (const Expected& e : kTable) expected += std::string(expected.empty() ? "" : ", ") + e.name;
  EXPECT_EQ(KnownDTypeNames(), expected);
}

}  // namespace
}  // namespace spindle::formats
