// CheckTomlDepth: a TOML lexer just large enough to count levels (TOML 1.0: keys, table headers,
// arrays, inline tables, the four kinds of strings, comments). Recursion is bounded by max_depth:
// the depth is checked before every descent.
#include <algorithm>

#include "probes/util/nesting_depth.h"

namespace nodehealth {
namespace {

class TomlDepthScanner {
 public:
  TomlDepthScanner(std::string_view text, int max_depth) : s_(text), max_(max_depth) {}

  std::optional<DepthViolation> Run() {
    int table_depth = 0;  // levels of the current [table] or [[array of tables]]
    while (true) {
      SkipBlanksCommentsAndNewlines();
      if (AtEnd()) return std::nullopt;
      if (Peek() == '[') {
        const bool array_of_tables = Peek(1) == '[';
        i_ += array_of_tables ? 2 : 1;
        const int line = line_;
        table_depth = ScanKey() + (array_of_tables ? 1 : 0);
        if (table_depth > max_) {
          return Violation(line, array_of_tables ? "an array-of-tables header" : "a table header");
        }
        SkipRestOfLine();
        continue;
      }
      const int line = line_;
      const int depth = table_depth + ScanKey();
      if (depth > max_) return Violation(line, "a dotted key");
      SkipBlanks();
      if (Peek() != '=') {  // not a key/value line: toml++ will say what is wrong with it
        SkipRestOfLine();
        continue;
      }
      ++i_;
      if (!ScanValue(depth)) return violation_;
      SkipRestOfLine();
    }
  }

 private:
  bool AtEnd() const { return i_ >= s_.size(); }
  char Peek(std::size_t ahead = 0) const { return i_ + ahead < s_.size() ? s_[i_ + ahead] : '\0'; }
  void Advance() {
    if (s_[i_] == '\n') ++line_;
    ++i_;
  }
  static bool IsBareKeyChar(char c) {
    const auto u = static_cast<unsigned char>(c);
    // ASCII bare keys (TOML 1.0), plus any non-ASCII byte: should a parser accept Unicode bare
    // keys, a dotted chain through them must still be counted.
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || u >= 0x80;
  }

  void SkipBlanks() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t')) ++i_;
  }
  void SkipComment() {
    if (Peek() != '#') return;
    while (!AtEnd() && Peek() != '\n') ++i_;
  }
  void SkipBlanksCommentsAndNewlines() {
    while (!AtEnd()) {
      const char c = Peek();
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        Advance();
      } else if (c == '#') {
        SkipComment();
      } else {
        return;
      }
    }
  }
  // To the end of the line, through strings and past a comment: what is left of a header line or
  // a line after its value.
  void SkipRestOfLine() {
    while (!AtEnd() && Peek() != '\n') {
      if (Peek() == '#') return SkipComment();
      if (Peek() == '"' || Peek() == '\'') {
        SkipString();
      } else {
        ++i_;
      }
    }
  }

  // At a quote: a basic ("...", escapes), literal ('...'), multi-line basic ("""...""") or
  // multi-line literal ('''...''') string. An unterminated one ends at the end of its line
  // (single-line) or of the text (multi-line); toml++ reports it.
  void SkipString() {
    const char quote = Peek();
    const bool basic = quote == '"';
    if (Peek(1) == quote && Peek(2) == quote) {
      i_ += 3;
      while (!AtEnd()) {
        if (basic && Peek() == '\\') {
          Advance();
          if (!AtEnd()) Advance();
        } else if (Peek() == quote) {
          // A run of 3 to 5 quotes closes the string; up to two of them belong to its content.
          std::size_t run = 0;
          while (Peek(run) == quote) ++run;
          i_ += run;
          if (run >= 3) return;
        } else {
          Advance();
        }
      }
      return;
    }
    ++i_;
    while (!AtEnd() && Peek() != '\n') {
      if (basic && Peek() == '\\') {
        ++i_;
        if (!AtEnd() && Peek() != '\n') ++i_;
      } else if (Peek() == quote) {
        ++i_;
        return;
      } else {
        ++i_;
      }
    }
  }

  // A key: bare or quoted segments joined by dots, with blanks around the dots. Returns its
  // segment count, at least 1 so that every descent deepens (an empty key is toml++'s to refuse).
  int ScanKey() {
    int segments = 0;
    while (true) {
      SkipBlanks();
      if (Peek() == '"' || Peek() == '\'') {
        SkipString();
      } else if (IsBareKeyChar(Peek())) {
        while (IsBareKeyChar(Peek())) ++i_;
      } else {
        break;
      }
      ++segments;
      SkipBlanks();
      if (Peek() != '.') break;
      ++i_;
    }
    return std::max(segments, 1);
  }

  // A value at `depth` levels, after its '='. False once a violation is found.
  bool ScanValue(int depth) {
    SkipBlanks();
    const char c = Peek();
    if (c == '[') return ScanArray(depth);
    if (c == '{') return ScanInlineTable(depth);
    if (c == '"' || c == '\'') {
      SkipString();
      return true;
    }
    // Numbers, booleans, dates and times (which may hold a blank): up to a delimiter.
    while (!AtEnd() && Peek() != ',' && Peek() != ']' && Peek() != '}' && Peek() != '\n' &&
           Peek() != '#') {
      ++i_;
    }
    return true;
  }

  bool ScanArray(int depth) {
    ++i_;  // '['
    while (true) {
      SkipBlanksCommentsAndNewlines();
      if (AtEnd()) return true;
      if (Peek() == ']') {
        ++i_;
        return true;
      }
      if (Peek() == ',') {
        ++i_;
        continue;
      }
      if (depth + 1 > max_) return Fail(line_, "an array");
      const std::size_t before = i_;
      if (!ScanValue(depth + 1)) return false;
      if (i_ == before) ++i_;  // a stray '}' or '=': not TOML, but the scan must move on
    }
  }

  bool ScanInlineTable(int depth) {
    ++i_;  // '{'
    while (true) {
      SkipBlanksCommentsAndNewlines();  // TOML 1.0 forbids newlines here; toml++ says so
      if (AtEnd()) return true;
      if (Peek() == '}') {
        ++i_;
        return true;
      }
      if (Peek() == ',') {
        ++i_;
        continue;
      }
      const std::size_t before = i_;
      const int line = line_;
      const int key_depth = depth + ScanKey();
      if (key_depth > max_) return Fail(line, "an inline table");
      SkipBlanks();
      if (Peek() != '=') {
        if (i_ == before) ++i_;
        continue;
      }
      ++i_;
      if (!ScanValue(key_depth)) return false;
    }
  }

  std::optional<DepthViolation> Violation(int line, std::string_view what) {
    Fail(line, what);
    return violation_;
  }
  bool Fail(int line, std::string_view what) {
    violation_ = DepthViolation{
        line, std::string(what) + " nests deeper than " + std::to_string(max_) + " levels"};
    return false;
  }

  std::string_view s_;
  std::size_t i_ = 0;
  int line_ = 1;
  int max_;
  std::optional<DepthViolation> violation_;
};

}  // namespace

std::optional<DepthViolation> CheckTomlDepth(std::string_view text, int max_depth) {
  return TomlDepthScanner(text, max_depth).Run();
}

}  // namespace nodehealth
