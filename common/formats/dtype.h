// Element types of the safetensors format: their on-disk names ("F32",
// "BF16", …) and sizes in bytes. Only whole-byte types are listed; the
// sub-byte types newer safetensors versions define (F4, F6_*) are rejected by
// name so a file using them fails with a message rather than a misread.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace spindle::formats {

// Declared in the order of the reference implementation's Dtype enum
// (increasing alignment); SafetensorsWriter sorts tensors by it, largest
// first, so every tensor's data is naturally aligned when the header is.
enum class DType {
  kBool,
  kU8,
  kI8,
  kF8E5M2,
  kF8E4M3,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kF64,
  kI64,
  kU64,
};

// "F32", "BF16", "F8_E4M3", … exactly as written in a safetensors header.
std::string_view DTypeName(DType dtype);

// Bytes per element: 1, 2, 4 or 8.
size_t DTypeSize(DType dtype);

// The dtype a header name denotes; nullopt for names Spindle does not know
// (including lowercase spellings, which the format does not allow).
std::optional<DType> DTypeFromName(std::string_view name);

// "BOOL, U8, I8, …" for error messages that list the accepted names.
std::string_view KnownDTypeNames();

}  // namespace spindle::formats
