#include "common/formats/safetensors.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/formats/file_io.h"
#include "common/formats/text.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

namespace spindle::formats {
namespace {

using Json = nlohmann::json;

constexpr size_t kLengthBytes = 8;  // the u64 little-endian header length N
constexpr std::string_view kMetadataKey = "__metadata__";
constexpr char kCorrupt[] =
    " (the file is corrupt or was not written by a safetensors writer; write it again)";
constexpr char kTruncated[] =
    " (the file is truncated, e.g. an interrupted copy or download; fetch or write it again)";

absl::Status Corrupt(std::string_view label, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(Sv(label), ": ", Sv(problem), kCorrupt));
}

absl::Status Truncated(std::string_view label, std::string_view problem) {
  return absl::DataLossError(absl::StrCat(Sv(label), ": ", Sv(problem), kTruncated));
}

std::string Quoted(std::string_view name) {
  return absl::StrCat("\"", absl::CHexEscape(Sv(name)), "\"");
}

std::string Span(uint64_t begin, uint64_t end) { return absl::StrCat("[", begin, ", ", end, "]"); }

// One tensor entry of the header, validated on its own (offsets not yet
// checked against the other tensors or the data region).
struct Entry {
  std::string name;
  DType dtype = DType::kU8;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

absl::Status ParseUnsigned(const Json& v, uint64_t max, uint64_t* out) {
  if (!v.is_number_unsigned() || v.get<uint64_t>() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(v.dump(), " is not an integer in [0, ", max, "]"));
  }
  *out = v.get<uint64_t>();
  return absl::OkStatus();
}

absl::StatusOr<Entry> ParseEntry(std::string_view label, const std::string& name, const Json& v) {
  const std::string where = absl::StrCat("tensor ", Quoted(name), ": ");
  if (!v.is_object()) {
    return Corrupt(
        label,
        absl::StrCat(where, "must be an object {dtype, shape, data_offsets}, not ", v.type_name()));
  }
  for (const auto& item : v.items()) {
    if (item.key() != "dtype" && item.key() != "shape" && item.key() != "data_offsets") {
      return Corrupt(label, absl::StrCat(where, "unknown field ", Quoted(item.key()),
                                         "; only dtype, shape and data_offsets are allowed"));
    }
  }
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!v.contains(field)) return Corrupt(label, absl::StrCat(where, "missing \"", field, "\""));
  }
  Entry e;
  e.name = name;
  const Json& dtype = v["dtype"];
  if (!dtype.is_string()) return Corrupt(label, absl::StrCat(where, "dtype must be a string"));
  const std::string& dtype_name = dtype.get_ref<const std::string&>();
  const std::optional<DType> known = DTypeFromName(dtype_name);
  if (!known.has_value()) {
    const bool sub_byte = dtype_name == "F4" || dtype_name.rfind("F6_", 0) == 0;
    return absl::InvalidArgumentError(absl::StrCat(
        Sv(label), ": ", where, sub_byte ? "sub-byte dtype " : "unknown dtype ", Quoted(dtype_name),
        "; Spindle reads ", Sv(KnownDTypeNames()), " (convert the tensor to one of them)"));
  }
  e.dtype = *known;
  const Json& shape = v["shape"];
  if (!shape.is_array()) return Corrupt(label, absl::StrCat(where, "shape must be an array"));
  uint64_t elements = 1;
  bool overflow = false;
  for (const Json& dim : shape) {
    uint64_t d = 0;
    if (absl::Status s = ParseUnsigned(dim, std::numeric_limits<int64_t>::max(), &d); !s.ok()) {
      return Corrupt(label, absl::StrCat(where, "shape ", shape.dump(), ": ", s.message()));
    }
    overflow |= __builtin_mul_overflow(elements, d, &elements);
    e.shape.push_back(static_cast<int64_t>(d));
  }
  const Json& offsets = v["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) {
    return Corrupt(label, absl::StrCat(where, "data_offsets must be [begin, end]"));
  }
  for (int i = 0; i < 2; ++i) {
    if (absl::Status s = ParseUnsigned(offsets[i], std::numeric_limits<uint64_t>::max(),
                                       i == 0 ? &e.begin : &e.end);
        !s.ok()) {
      return Corrupt(label,
                     absl::StrCat(where, "data_offsets ", offsets.dump(), ": ", s.message()));
    }
  }
  if (e.begin > e.end) {
    return Corrupt(label, absl::StrCat(where, "data_offsets ", Span(e.begin, e.end),
                                       " end before they begin"));
  }
  uint64_t bytes = 0;
  overflow |= __builtin_mul_overflow(elements, DTypeSize(e.dtype), &bytes);
  if (overflow || bytes != e.end - e.begin) {
    return Corrupt(
        label,
        absl::StrCat(where, "shape [", absl::StrJoin(e.shape, ", "), "] of ", dtype_name, " needs ",
                     overflow ? "more than 2^64" : absl::StrCat(bytes), " bytes, but data_offsets ",
                     Span(e.begin, e.end), " span ", e.end - e.begin));
  }
  return e;
}

absl::Status ParseMetadata(std::string_view label, const Json& v,
                           std::map<std::string, std::string>* out) {
  if (v.is_null()) return absl::OkStatus();  // the reference reads null as absent
  if (!v.is_object()) return Corrupt(label, "\"__metadata__\" must be an object of strings");
  for (const auto& item : v.items()) {
    if (!item.value().is_string()) {
      return Corrupt(label, absl::StrCat("\"__metadata__\" value of ", Quoted(item.key()),
                                         " must be a string, not ", item.value().type_name()));
    }
    (*out)[item.key()] = item.value().get<std::string>();
  }
  return absl::OkStatus();
}

// Parses the JSON text, rejecting a name repeated within any one object (the
// reference silently keeps the last; a repeat means a broken writer).
absl::StatusOr<Json> ParseJson(std::string_view label, std::string_view text) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  Json::parser_callback_t track = [&](int, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) open_objects.emplace_back();
    if (event == Json::parse_event_t::object_end) open_objects.pop_back();
    if (event == Json::parse_event_t::key) {
      std::string key = parsed.get<std::string>();
      if (!open_objects.back().insert(key).second && duplicate.empty()) duplicate = std::move(key);
    }
    return true;
  };
  Json root;
  try {
    root = Json::parse(text.begin(), text.end(), track);
  } catch (const Json::exception& e) {
    return Corrupt(label, absl::StrCat("header is not valid JSON: ", e.what()));
  }
  if (!duplicate.empty()) {
    return Corrupt(label, absl::StrCat("header names ", Quoted(duplicate), " twice"));
  }
  return root;
}

uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

absl::StatusOr<SafetensorsContents> ParseSafetensors(std::string_view label, const uint8_t* data,
                                                     size_t size) {
  if (size < kLengthBytes) {
    return Truncated(label, absl::StrCat(size, " bytes, too short for the 8-byte header length"));
  }
  const uint64_t n = LoadLe64(data);
  if (n > kMaxSafetensorsHeaderBytes) {
    return Corrupt(label, absl::StrCat("header length ", n, " bytes exceeds the limit of ",
                                       kMaxSafetensorsHeaderBytes));
  }
  if (n > size - kLengthBytes) {
    return Truncated(label, absl::StrCat("header length ", n, " bytes runs past the end of the ",
                                         size, "-byte file"));
  }
  const std::string_view text(reinterpret_cast<const char*>(data + kLengthBytes), n);
  if (!IsUtf8(text)) return Corrupt(label, "header is not UTF-8");
  if (text.empty() || text[0] != '{') return Corrupt(label, "header does not start with '{'");
  // JSON allows no raw NUL, and nlohmann_json would take one as the end of
  // input, accepting whatever follows it.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return Corrupt(label, absl::StrCat("header has a NUL byte at offset ", nul));
  }
  SPINDLE_ASSIGN_OR_RETURN(const Json root, ParseJson(label, text));

  const uint8_t* region = data + kLengthBytes + n;
  const uint64_t region_bytes = size - kLengthBytes - n;
  SafetensorsContents contents;
  contents.header_bytes = n;
  std::vector<Entry> entries;
  for (const auto& item : root.items()) {  // sorted by name: nlohmann objects are std::maps
    if (item.key() == kMetadataKey) {
      SPINDLE_RETURN_IF_ERROR(ParseMetadata(label, item.value(), &contents.metadata));
      continue;
    }
    SPINDLE_ASSIGN_OR_RETURN(Entry e, ParseEntry(label, item.key(), item.value()));
    if (e.end > region_bytes) {
      return Truncated(
          label, absl::StrCat("tensor ", Quoted(e.name), ": data_offsets ", Span(e.begin, e.end),
                              " run past the ", region_bytes, "-byte data region"));
    }
    entries.push_back(std::move(e));
  }

  // The tensors must tile the data region exactly, as the reference requires.
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return std::tie(a->begin, a->end) < std::tie(b->begin, b->end);
  });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry* e : by_offset) {
    if (e->begin < covered) {
      return Corrupt(
          label, absl::StrCat("tensor ", Quoted(e->name), ": data_offsets ", Span(e->begin, e->end),
                              " overlap tensor ", Quoted(previous->name), " at ",
                              Span(previous->begin, previous->end)));
    }
    if (e->begin > covered) {
      return Corrupt(
          label, absl::StrCat("data bytes [", covered, ", ", e->begin,
                              ") belong to no tensor (a gap before tensor ", Quoted(e->name), ")"));
    }
    covered = e->end;
    previous = e;
  }
  if (covered != region_bytes) {
    return Corrupt(label,
                   absl::StrCat("the tensors cover ", covered, " bytes of the ", region_bytes,
                                "-byte data region; the rest belongs to no "
                                "tensor"));
  }

  for (Entry& e : entries) {
    TensorView view;
    view.dtype = e.dtype;
    view.data = region + e.begin;
    view.bytes = static_cast<size_t>(e.end - e.begin);
    view.data_begin = e.begin;
    view.name = std::move(e.name);
    view.shape = std::move(e.shape);
    contents.tensors.push_back(std::move(view));
  }
  return contents;
}

absl::StatusOr<SafetensorsFile> SafetensorsFile::Open(const std::string& path) {
  SPINDLE_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path));
  SPINDLE_ASSIGN_OR_RETURN(SafetensorsContents contents,
                           ParseSafetensors(path, file.data(), file.size()));
  return SafetensorsFile(std::move(file), std::move(contents));
}

const TensorView* SafetensorsFile::Find(std::string_view name) const {
  const auto it = std::lower_bound(
      contents_.tensors.begin(), contents_.tensors.end(), name,
      [](const TensorView& t, std::string_view n) { return std::string_view(t.name) < n; });
  return it != contents_.tensors.end() && it->name == name ? &*it : nullptr;
}

absl::StatusOr<const TensorView*> SafetensorsFile::Get(std::string_view name) const {
  if (const TensorView* t = Find(name)) return t;
  return absl::NotFoundError(absl::StrCat(path(), ": no tensor ", Quoted(name), " among its ",
                                          contents_.tensors.size(),
                                          " tensors; check the name against the file's header"));
}

}  // namespace spindle::formats
