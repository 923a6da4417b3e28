// StrictTomlReader: the checks shared by the profile and config loaders. Every accessor validates
// type and range and, on failure, throws TomlReadError "<origin>:<line>: <what>", which the
// loaders turn into an Error for `nodehealth` to print before exiting with status 2.
//
// Thread safety: one reader per parse.
#pragma once

#include <toml++/toml.h>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "probes/util/expected.h"
#include "probes/util/nesting_depth.h"

namespace nodehealth {

struct TomlReadError {
  std::string message;
};

class StrictTomlReader {
 public:
  using Handler = std::function<void(const toml::node& node, const std::string& key)>;
  using Handlers = std::map<std::string, Handler, std::less<>>;

  explicit StrictTomlReader(std::string origin) : origin_(std::move(origin)) {}

  // Calls the handler of each key of `table`; a key without a handler is an error.
  // `prefix` is the dotted path of `table` for messages ("" at the root).
  void Walk(const toml::table& table, const std::string& prefix, const Handlers& handlers) const;

  [[noreturn]] void Fail(const toml::node& node, const std::string& what) const;

  const toml::table& Table(const toml::node& node, const std::string& key) const;
  std::string String(const toml::node& node, const std::string& key) const;
  std::vector<std::string> StringList(const toml::node& node, const std::string& key) const;
  int64_t Integer(const toml::node& node, const std::string& key, int64_t min, int64_t max) const;
  double Number(const toml::node& node, const std::string& key, double min, double max) const;
  bool Bool(const toml::node& node, const std::string& key) const;
  // A dotted numeric version string ("535.129.03").
  std::string Version(const toml::node& node, const std::string& key) const;

  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
};

// Parses TOML text, then runs `read(root, reader)`; syntax and validation errors come back as an
// Error "<origin>:<line>: <what>". Text nesting deeper than kMaxTomlDepth is refused before
// toml++ sees it (nesting_depth.h: toml++ recurses once per level of a dotted key).
template <class T, class Read>
Expected<T> ReadToml(std::string_view text, const std::string& origin, Read read) {
  if (std::optional<DepthViolation> deep = CheckTomlDepth(text)) {
    return MakeError(origin + ":" + std::to_string(deep->line) + ": " + deep->what);
  }
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& error) {
    return MakeError(origin + ":" + std::to_string(error.source().begin.line) + ": " +
                     std::string(error.description()));
  }
  try {
    return read(root, StrictTomlReader(origin));
  } catch (const TomlReadError& error) {
    return MakeError(error.message);
  }
}

// Reads a whole regular file of at most 1 MiB; a FIFO, socket, device or directory is an error at
// once, never a wait (platform::ReadRegularFile). `what` names its role ("profile", "config").
Expected<std::string> ReadSmallFile(const std::string& path, std::string_view what);

}  // namespace nodehealth
