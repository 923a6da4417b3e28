// CheckJsonDepth and CheckXmlDepth: one pass each, no recursion.
#include "probes/util/nesting_depth.h"

namespace nodehealth {
namespace {

DepthViolation TooDeep(int line, std::string_view what, int max_depth) {
  return {line, std::string(what) + " nests deeper than " + std::to_string(max_depth) + " levels"};
}

}  // namespace

std::optional<DepthViolation> CheckJsonDepth(std::string_view text, int max_depth) {
  int depth = 0;
  int line = 1;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') ++line;
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, never a closing quote
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return TooDeep(line, "JSON", max_depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;  // unbalanced closers are the parser's to report
    }
  }
  return std::nullopt;
}

std::optional<DepthViolation> CheckXmlDepth(std::string_view text, int max_depth) {
  int depth = 0;
  int line = 1;
  std::size_t i = 0;
  const auto count_lines = [&](std::size_t from, std::size_t to) {
    for (std::size_t k = from; k < to && k < text.size(); ++k) line += text[k] == '\n';
  };
  // Moves past `terminator`, counting lines; at the end of the text when there is none.
  const auto skip_past = [&](std::string_view terminator) {
    const std::size_t end = text.find(terminator, i);
    const std::size_t next = end == std::string_view::npos ? text.size() : end + terminator.size();
    count_lines(i, next);
    i = next;
  };
  // Moves past the '>' that ends a tag, skipping quoted attribute values (which may hold '>').
  // Returns whether the tag ends in "/>".
  const auto skip_tag = [&]() {
    char quote = 0;
    char previous = 0;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      if (c == '\n') ++line;
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        ++i;
        return previous == '/';
      }
      previous = c;
    }
    return false;
  };
  while (i < text.size()) {
    const std::size_t open = text.find('<', i);
    if (open == std::string_view::npos) break;
    count_lines(i, open);
    i = open;
    const std::string_view rest = text.substr(i);
    if (rest.starts_with("<!--")) {
      skip_past("-->");
    } else if (rest.starts_with("<![CDATA[")) {
      skip_past("]]>");
    } else if (rest.starts_with("<?")) {
      skip_past("?>");
    } else if (rest.starts_with("<!ENTITY") ||
               (rest.starts_with("<!DOCTYPE") &&
                rest.substr(0, rest.find('>')).find('[') != std::string_view::npos)) {
      return DepthViolation{line, "XML entity declarations and internal DTD subsets are refused"};
    } else if (rest.starts_with("<!")) {
      skip_past(">");
    } else if (rest.starts_with("</")) {
      skip_tag();
      if (depth > 0) --depth;
    } else {
      const int tag_line = line;
      if (!skip_tag() && ++depth > max_depth) return TooDeep(tag_line, "XML", max_depth);
    }
  }
  return std::nullopt;
}

}  // namespace nodehealth
