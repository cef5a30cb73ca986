// Text helpers shared inside spindle_formats: strict UTF-8 validation, JSON
// string quoting that matches serde_json's output byte for byte (so our
// safetensors headers equal the reference writer's), and the bridge from
// std::string_view to abseil's. Not a JSON library: parsing goes through
// nlohmann_json.
#pragma once

#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace spindle::formats {

// Debian's abseil (20220623) keeps its own absl::string_view rather than
// aliasing std::string_view, so StrCat and friends need this conversion.
inline absl::string_view Sv(std::string_view text) { return {text.data(), text.size()}; }

// Well-formed UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF.
bool IsUtf8(std::string_view text);

// Appends text as a JSON string literal: '"' and '\\' escaped, \b \f \n \r \t
// by name, other bytes below 0x20 as \u00xx (lowercase hex), everything else
// (including non-ASCII UTF-8) verbatim.
void AppendJsonString(std::string* out, std::string_view text);

}  // namespace spindle::formats
