// Small text helpers shared by the parsers and probes. Header-only, no I/O.
#pragma once

#include <charconv>
#include <string>
#include <string_view>

#include "probes/util/expected.h"

namespace nodehealth {

// `text` as evidence may show it: printable ASCII only (anything else becomes '?'), at most `max`
// characters, "..." when cut. Kernel lines and sysfs files can carry anything.
inline std::string Printable(std::string_view text, std::size_t max = 300) {
  std::string out;
  out.reserve(std::min(text.size(), max) + 3);
  for (char c : text.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (text.size() > max) out += "...";
  return out;
}

// The Error a parser returns for text it does not understand: `malformed <what>: "<text>"`,
// showing at most 64 printable characters.
inline Error Malformed(std::string_view what, std::string_view text) {
  std::string shown = Printable(text, 64);
  if (shown.size() > 64) shown.resize(64);
  return MakeError("malformed " + std::string(what) + ": \"" + shown + "\"");
}

// Parses all of `text` as an integer in `base`; false on an empty string, trailing characters,
// or overflow.
template <class Int>
bool ParseWhole(std::string_view text, Int& out, int base = 10) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out, base);
  return ec == std::errc() && ptr == end;
}

}  // namespace nodehealth
