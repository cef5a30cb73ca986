// SafetensorsWriter (declared in safetensors.h): byte-identical to the
// reference writer; see the class comment for the ordering rules.
#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/formats/file_io.h"
#include "common/formats/safetensors.h"
#include "common/formats/text.h"
#include "common/status.h"

namespace spindle::formats {
namespace {

constexpr std::string_view kMetadataKey = "__metadata__";

std::string Quoted(std::string_view name) {
  return absl::StrCat("\"", absl::CHexEscape(Sv(name)), "\"");
}

}  // namespace

absl::Status SafetensorsWriter::AddTensor(std::string name, DType dtype, std::vector<int64_t> shape,
                                          const void* data, size_t bytes) {
  const std::string where = absl::StrCat("safetensors tensor ", Quoted(name), ": ");
  if (name.empty() || name == kMetadataKey) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, "the name is empty or reserved; give the tensor another name"));
  }
  if (!IsUtf8(name)) {
    return absl::InvalidArgumentError(absl::StrCat(where, "the name is not UTF-8"));
  }
  if (names_.count(name) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(where, "added twice; names must be unique"));
  }
  uint64_t expected = DTypeSize(dtype);
  for (const int64_t d : shape) {
    if (d < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "shape [", absl::StrJoin(shape, ", "), "] has a negative dim"));
    }
    if (__builtin_mul_overflow(expected, static_cast<uint64_t>(d), &expected)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "shape [", absl::StrJoin(shape, ", "), "] overflows 2^64 bytes"));
    }
  }
  if (expected != bytes || (data == nullptr && bytes != 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, "shape [", absl::StrJoin(shape, ", "), "] of ", Sv(DTypeName(dtype)), " needs ",
        expected, " bytes, but ", bytes, " were given", data == nullptr ? " (and no data)" : ""));
  }
  names_.insert(name);
  entries_.push_back(Entry{std::move(name), dtype, std::move(shape), data, bytes});
  return absl::OkStatus();
}

absl::Status SafetensorsWriter::AddMetadata(std::string key, std::string value) {
  const std::string where = absl::StrCat("safetensors metadata ", Quoted(key), ": ");
  if (!IsUtf8(key) || !IsUtf8(value)) {
    return absl::InvalidArgumentError(absl::StrCat(where, "key and value must be UTF-8"));
  }
  if (metadata_.count(key) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(where, "added twice; keys must be unique"));
  }
  metadata_.emplace(std::move(key), std::move(value));
  return absl::OkStatus();
}

std::vector<const SafetensorsWriter::Entry*> SafetensorsWriter::Ordered() const {
  std::vector<const Entry*> order;
  order.reserve(entries_.size());
  for (const Entry& e : entries_) order.push_back(&e);
  // DType declares increasing alignment: larger first, then bytewise by name.
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    if (a->dtype != b->dtype) return a->dtype > b->dtype;
    return a->name < b->name;
  });
  return order;
}

std::string SafetensorsWriter::SerializeHeader() const {
  std::string json = "{";
  if (!metadata_.empty()) {
    AppendJsonString(&json, kMetadataKey);
    json += ":{";
    for (auto it = metadata_.begin(); it != metadata_.end(); ++it) {
      if (it != metadata_.begin()) json += ',';
      AppendJsonString(&json, it->first);
      json += ':';
      AppendJsonString(&json, it->second);
    }
    json += '}';
  }
  uint64_t offset = 0;
  for (const Entry* e : Ordered()) {
    if (json.size() > 1) json += ',';
    AppendJsonString(&json, e->name);
    absl::StrAppend(&json, ":{\"dtype\":\"", Sv(DTypeName(e->dtype)), "\",\"shape\":[",
                    absl::StrJoin(e->shape, ","), "],\"data_offsets\":[", offset, ",",
                    offset + e->bytes, "]}");
    offset += e->bytes;
  }
  json += '}';
  // Spaces pad N to a multiple of 8, so the data region (at 8 + N) is too.
  json.append((8 - json.size() % 8) % 8, ' ');

  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((json.size() >> (8 * i)) & 0xFF);
  return out + json;
}

absl::Status SafetensorsWriter::Write(const std::string& path) const {
  SPINDLE_ASSIGN_OR_RETURN(AtomicFileWriter writer, AtomicFileWriter::Create(path));
  SPINDLE_RETURN_IF_ERROR(writer.Append(SerializeHeader()));
  for (const Entry* e : Ordered()) SPINDLE_RETURN_IF_ERROR(writer.Append(e->data, e->bytes));
  return writer.Commit();
}

}  // namespace spindle::formats
