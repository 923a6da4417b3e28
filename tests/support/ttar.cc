#include "tests/support/ttar.h"

#include <charconv>

namespace nodehealth::testing {
namespace {

struct LineReader {
  std::string_view text;
  std::size_t pos = 0;
  int number = 0;

  bool Next(std::string_view& line) {
    if (pos >= text.size()) return false;
    const std::size_t end = text.find('\n', pos);
    const std::size_t stop = end == std::string_view::npos ? text.size() : end;
    line = text.substr(pos, stop - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    ++number;
    return true;
  }
};

Error At(const LineReader& reader, const std::string& what) {
  return MakeError("ttar line " + std::to_string(reader.number) + ": " + what);
}

}  // namespace

Expected<std::vector<TtarEntry>> ParseTtar(std::string_view text) {
  std::vector<TtarEntry> entries;
  LineReader reader{text};
  std::string_view line;
  while (reader.Next(line)) {
    if (line.empty() || line.starts_with("#") || line.starts_with("Mode: ")) continue;
    if (line.starts_with("Directory: ")) {
      entries.push_back({TtarEntry::Kind::kDirectory, std::string(line.substr(11)), "", ""});
      continue;
    }
    if (!line.starts_with("Path: ")) return At(reader, "unexpected \"" + std::string(line) + "\"");
    TtarEntry entry;
    entry.path = std::string(line.substr(6));
    if (!reader.Next(line)) return At(reader, "archive ends after Path");
    if (line.starts_with("SymlinkTo: ")) {
      entry.kind = TtarEntry::Kind::kSymlink;
      entry.target = std::string(line.substr(11));
      entries.push_back(std::move(entry));
      continue;
    }
    if (!line.starts_with("Lines: ")) return At(reader, "expected Lines: after Path");
    int count = 0;
    const std::string_view digits = line.substr(7);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
    if (ec != std::errc() || ptr != digits.data() + digits.size() || count < 0) {
      return At(reader, "bad line count");
    }
    for (int i = 0; i < count; ++i) {
      if (!reader.Next(line)) return At(reader, "archive ends inside " + entry.path);
      if (line.ends_with("EOF")) {
        entry.content.append(line.substr(0, line.size() - 3));
      } else {
        entry.content.append(line);
        entry.content += '\n';
      }
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace nodehealth::testing
