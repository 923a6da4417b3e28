#include "agent/daemon/report_redaction.h"

#include <cctype>

namespace nodehealth::agent {
namespace {

bool At(std::string_view text, std::size_t i, std::string_view what) {
  return text.substr(i, what.size()) == what;
}

bool WordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::size_t Digits(std::string_view text, std::size_t i) {
  std::size_t n = 0;
  while (i + n < text.size() && std::isdigit(static_cast<unsigned char>(text[i + n]))) ++n;
  return n;
}

std::size_t LineEnd(std::string_view text, std::size_t i) {
  const std::size_t nl = text.find('\n', i);
  return nl == std::string_view::npos ? text.size() : nl;
}

// End of a process name that starts at `i`: the next `separator` on the line, else the line end.
std::size_t NameEnd(std::string_view text, std::size_t i, std::string_view separator) {
  const std::size_t line_end = LineEnd(text, i);
  const std::size_t sep = text.substr(0, line_end).find(separator, i);
  return sep == std::string_view::npos ? line_end : sep;
}

}  // namespace

std::string RedactProcessIdentities(std::string_view text) {
  if (text.find("pid") == std::string_view::npos && text.find("PID") == std::string_view::npos) {
    return std::string(text);
  }
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const bool word_start = i == 0 || !WordChar(text[i - 1]);
    if (word_start && At(text, i, "pid=")) {
      // NVIDIA: "pid=1234, name=python3, " (or "pid='<unknown>', name=<unknown>, ").
      out += "pid=";
      i += 4;
      if (const std::size_t d = Digits(text, i); d > 0) {
        out += kRedacted;
        i += d;
      } else if (At(text, i, "'<unknown>'")) {
        out += "'<unknown>'";
        i += 11;
      }
      if (At(text, i, ", name=")) {
        out += ", name=";
        i += 7;
        if (At(text, i, "<unknown>")) continue;
        const std::size_t end = NameEnd(text, i, ", ");
        if (end > i) out += kRedacted;
        i = end;
      }
      continue;
    }
    if (At(text, i, "(pid ")) {
      // mlx5: "mlx5_cmd_out_err:838:(pid 1234): ...".
      const std::size_t d = Digits(text, i + 5);
      if (d > 0 && At(text, i + 5 + d, ")")) {
        out += "(pid ";
        out += kRedacted;
        out += ")";
        i += 5 + d + 1;
        continue;
      }
    }
    if (word_start && At(text, i, "PID: ")) {
      // A kernel warning's header: "CPU: 3 PID: 1234 Comm: nvidia-smi Tainted: P  OE 5.15.0".
      const std::size_t d = Digits(text, i + 5);
      if (d > 0) {
        out += "PID: ";
        out += kRedacted;
        i += 5 + d;
        if (At(text, i, " Comm: ")) {
          out += " Comm: ";
          i += 7;
          std::size_t end = NameEnd(text, i, " Tainted:");
          if (end == LineEnd(text, i)) end = NameEnd(text, i, " Not tainted");
          if (end > i) out += kRedacted;
          i = end;
        }
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

void RedactProcessIdentities(nlohmann::ordered_json& json) {
  if (json.is_string()) {
    const std::string& text = json.get_ref<const std::string&>();
    std::string redacted = RedactProcessIdentities(text);
    if (redacted != text) json = std::move(redacted);
  } else if (json.is_array() || json.is_object()) {
    for (nlohmann::ordered_json& child : json) RedactProcessIdentities(child);
  }
}

}  // namespace nodehealth::agent
