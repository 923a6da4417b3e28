// ForEachLine: calls `fn(line)` for every line of `text`, without the '\n'; a last line without a
// newline counts. `fn` may return bool: false stops early. Views into `text`; no allocation.
#pragma once

#include <string_view>
#include <type_traits>

namespace nodehealth {

template <class Fn>
void ForEachLine(std::string_view text, Fn fn) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if constexpr (std::is_same_v<std::invoke_result_t<Fn, std::string_view>, bool>) {
      if (!fn(line)) return;
    } else {
      fn(line);
    }
  }
}

}  // namespace nodehealth
