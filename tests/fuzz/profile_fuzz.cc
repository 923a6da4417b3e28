// Profiles: any text gives a Profile or an Error with a line number, never a crash. And the TOML
// depth pre-scan (probes/util/nesting_depth.h) against toml++ itself, on the same input:
//   * it never refuses a text toml++ parses into a tree no deeper than the bound (a legal file
//     with dots, brackets or braces inside strings and comments must pass);
//   * it never passes a text toml++ parses into a tree more than twice as deep as the bound
//     (the factor two: [[a]] [[a.b]] headers extend arrays of tables, see nesting_depth.h).
// A small bound (6) makes both edges reachable from small inputs.
#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "agent/config/profile_loader.h"
#include "probes/util/nesting_depth.h"

namespace {

constexpr int kFuzzDepth = 6;

// Depth as nesting_depth.h counts it: the root's values are at 1, a container's children one
// deeper. The recursion is safe: toml++ built this tree, and inputs are a few KiB.
int TreeDepth(const toml::node& node, int depth) {
  int deepest = depth;
  if (const toml::table* table = node.as_table()) {
    for (const auto& [key, child] : *table)
      deepest = std::max(deepest, TreeDepth(child, depth + 1));
  } else if (const toml::array* array = node.as_array()) {
    for (const toml::node& child : *array) deepest = std::max(deepest, TreeDepth(child, depth + 1));
  }
  return deepest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  auto profile = nodehealth::ParseProfile(input, "fuzz.toml");
  if (!profile && profile.error().message.rfind("fuzz.toml:", 0) != 0) std::abort();
  if (profile && profile->name.empty()) std::abort();

  if (size > 16384) return 0;  // the differential below recurses through what toml++ built
  const bool refused = nodehealth::CheckTomlDepth(input, kFuzzDepth).has_value();
  if (!refused && nodehealth::CheckTomlDepth(input, nodehealth::kMaxTomlDepth)) std::abort();
  toml::table root;
  try {
    root = toml::parse(input);
  } catch (const toml::parse_error&) {
    return 0;
  }
  const int depth = TreeDepth(root, 0);
  if (refused && depth <= kFuzzDepth) std::abort();      // a legal file refused
  if (!refused && depth > 2 * kFuzzDepth) std::abort();  // a deep file let through
  return 0;
}
