// Depth pre-scans: how deeply a TOML, JSON or XML text nests, found in one pass before a parser
// sees it. Some parsers and operations on parsed trees recurse once per level, so a small file
// that nests deeply enough overflows the stack (a crash, not an error):
//   * toml++ 3.3 (Debian 12) after parsing a dotted key or table header: about 35,000 levels on
//     an 8 MiB stack, e.g. a 70 KB `a.a.a...a = 1` (measured). It bounds arrays and inline
//     tables itself (256, TOML_MAX_NESTED_VALUES), but dotted keys inside them add levels.
//   * nlohmann::json 3.11 parses and destroys without recursion, but copying, dumping and
//     comparing a value recurse: a 1 MB `[[[...]]]` parses, then crashes in `value()` (a copy).
//   * hwloc 2.9's own XML importer (used when the libxml2 plugin from libhwloc-plugins is not
//     installed, or with HWLOC_LIBXML_IMPORT=0) crashes near 30,000 nested <object>s; libxml2
//     refuses more than 256 levels by itself.
// The bounds are far above what nodehealth's files need and far below where anything breaks.
//
// The scans only count; they do not validate (the parser that runs next does). They skip
// strings and comments exactly as the format defines them, so a dot, bracket or brace inside a
// string never counts: a legal file within the bound is never refused.
//
// Thread safety: pure functions. Failure: a DepthViolation (line and what), never an exception.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nodehealth {

// The deepest value nodehealth's config and profile schemas have is 4 levels
// (`[drain.codes.<code>] action`); 64 costs a parser well under 64 KiB of stack.
inline constexpr int kMaxTomlDepth = 64;
// nodehealth's JSON files (reports, state, status, topology baselines) nest at most 5 levels.
inline constexpr int kMaxJsonDepth = 64;
// hwloc topologies nest a few dozen elements at most (the 35 machines hwloc records in its own
// tests nest at most 11); libxml2's own limit is 256.
inline constexpr int kMaxXmlDepth = 128;

struct DepthViolation {
  int line = 0;      // 1-based line where the bound was crossed
  std::string what;  // "a dotted key nests deeper than 64 levels"
};

// Depth of a TOML value: the segments of its table header ([a.b] is 2, [[a.b]] 3: the array of
// tables adds one), plus those of its dotted key, plus one per enclosing array, plus the keys of
// enclosing inline tables. `a = 1` is 1; `[drain.codes.x] action = "drain"` is 4. (toml++'s tree
// can be deeper than this count where [[x]] headers extend each other, at most twice as deep.)
std::optional<DepthViolation> CheckTomlDepth(std::string_view text, int max_depth = kMaxTomlDepth);

// Depth of JSON: arrays and objects open at once (`[[1]]` is 2).
std::optional<DepthViolation> CheckJsonDepth(std::string_view text, int max_depth = kMaxJsonDepth);

// Depth of XML: elements open at once. Also refuses entity declarations (<!ENTITY ...>): hwloc's
// XML has none, and entity expansion is the other way a small XML file becomes a huge one.
std::optional<DepthViolation> CheckXmlDepth(std::string_view text, int max_depth = kMaxXmlDepth);

}  // namespace nodehealth
