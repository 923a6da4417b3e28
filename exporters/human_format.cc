#include "exporters/human_format.h"

#include <cmath>
#include <cstdio>

namespace nodehealth {
namespace {

std::string Printf(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Byte length of the longest prefix of `text` that takes at most `width` columns.
std::size_t PrefixBytes(std::string_view text, std::size_t width) {
  std::size_t columns = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (IsContinuationByte(text[i])) continue;
    if (columns == width) return i;
    ++columns;
  }
  return text.size();
}

}  // namespace

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "-";
  const double ms = seconds * 1000;
  if (ms < 9.95) return Printf("%.1f ms", ms);
  if (ms < 999.5) return Printf("%.0f ms", ms);
  if (seconds < 59.95) return Printf("%.1f s", seconds);
  const double minutes = seconds / 60;
  if (minutes < 59.95) return Printf("%.1f min", minutes);
  return Printf("%.1f h", minutes / 60);
}

std::size_t DisplayWidth(std::string_view text) {
  std::size_t columns = 0;
  for (char c : text) {
    if (!IsContinuationByte(c)) ++columns;
  }
  return columns;
}

std::string Truncate(std::string_view text, std::size_t width) {
  if (DisplayWidth(text) <= width) return std::string(text);
  if (width == 0) return "";
  return std::string(text.substr(0, PrefixBytes(text, width - 1))) + "\u2026";
}

std::vector<std::string> WrapText(std::string_view text, std::size_t width) {
  if (width == 0) width = 1;
  std::vector<std::string> lines;
  std::string line;
  std::size_t at = 0;
  while (at < text.size()) {
    // Runs of spaces separate words; newlines in the text are kept as line breaks.
    if (text[at] == ' ') {
      ++at;
      continue;
    }
    if (text[at] == '\n') {
      lines.push_back(std::move(line));
      line.clear();
      ++at;
      continue;
    }
    std::size_t end = text.find_first_of(" \n", at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(at, end - at);
    at = end;
    const std::size_t line_width = DisplayWidth(line);
    const std::size_t word_width = DisplayWidth(word);
    if (!line.empty() && line_width + 1 + word_width <= width) {
      line += ' ';
      line += word;
      continue;
    }
    if (!line.empty()) {
      lines.push_back(std::move(line));
      line.clear();
    }
    while (DisplayWidth(word) > width) {
      const std::size_t cut = PrefixBytes(word, width);
      lines.emplace_back(word.substr(0, cut));
      word.remove_prefix(cut);
    }
    line = std::string(word);
  }
  if (!line.empty() || lines.empty()) lines.push_back(std::move(line));
  return lines;
}

}  // namespace nodehealth
