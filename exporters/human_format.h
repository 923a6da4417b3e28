// Small helpers for text that people read (the table report): durations in the unit that fits,
// the display width of UTF-8 text, truncation with an ellipsis, and word wrapping.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace nodehealth {

// A duration for people, in the unit that fits: "0.4 ms", "3.4 ms", "312 ms", "25.7 s",
// "4.1 min", "2.5 h". The boundaries follow the rounded value, so 0.9996 s is "1.0 s", never
// "1000 ms", and 59.96 s is "1.0 min". Negative or not finite: "-".
std::string FormatDuration(double seconds);

// Columns `text` takes on a terminal: one per UTF-8 code point (no wide characters in reports).
std::size_t DisplayWidth(std::string_view text);

// `text` cut to at most `width` columns, ending in "…" when it was cut. Never splits a UTF-8
// sequence.
std::string Truncate(std::string_view text, std::size_t width);

// `text` split into lines of at most `width` columns at spaces; a word longer than `width` is cut
// into pieces of `width`. Never returns an empty vector (an empty text gives one empty line).
std::vector<std::string> WrapText(std::string_view text, std::size_t width);

}  // namespace nodehealth
