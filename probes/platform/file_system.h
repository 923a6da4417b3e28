// FileSystem: the seam between probes and the files of the node (/sys, /proc, /dev, /usr, /etc).
// Every probe reads through it, never through open(2) directly, so that `--sysroot DIR` and tests
// can point it at a recorded tree (node_exporter's --path.sysfs idea, leveldb's Env idea).
//
// Paths given to it are absolute node paths ("/sys/bus/pci/devices"); the implementation maps
// them below its root. Errors carry errno so callers can tell "absent" (ENOENT, normal in sysfs)
// from "unreadable" (EACCES, EIO), which must never be mistaken for healthy.
//
// Thread safety: implementations are safe to share between probe threads (no mutable state).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "probes/util/expected.h"

namespace nodehealth::platform {

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Reads a whole file, at most `max_bytes` (a longer file is an error, not a silent truncation).
  virtual Expected<std::string> ReadFile(std::string_view path,
                                         std::size_t max_bytes = 64 * 1024) const = 0;
  // A sysfs attribute (at most 4 KiB): one read(2), because sysfs hands an attribute over whole in
  // its first read. Saves a syscall per file where probes read hundreds of them (ib_ports); not
  // for procfs, whose seq_files may return less than is there.
  virtual Expected<std::string> ReadAttribute(std::string_view path) const = 0;
  // Entry names of a directory, sorted, without "." and "..".
  virtual Expected<std::vector<std::string>> ListDir(std::string_view path) const = 0;
  // Target of a symbolic link, as stored.
  virtual Expected<std::string> ReadLink(std::string_view path) const = 0;
  virtual bool Exists(std::string_view path) const = 0;
  // Where `path` lives on the machine running nodehealth (root + path).
  virtual std::string HostPath(std::string_view path) const = 0;
};

// Maps node paths below a root directory ("/" on a live node).
class RootedFileSystem final : public FileSystem {
 public:
  explicit RootedFileSystem(std::string root);

  Expected<std::string> ReadFile(std::string_view path,
                                 std::size_t max_bytes = 64 * 1024) const override;
  Expected<std::string> ReadAttribute(std::string_view path) const override;
  Expected<std::vector<std::string>> ListDir(std::string_view path) const override;
  Expected<std::string> ReadLink(std::string_view path) const override;
  bool Exists(std::string_view path) const override;
  std::string HostPath(std::string_view path) const override;

  const std::string& root() const { return root_; }

 private:
  std::string root_;  // without trailing slash; empty for "/"
};

// Joins a node path and a child name with exactly one '/'.
std::string JoinPath(std::string_view dir, std::string_view name);

}  // namespace nodehealth::platform
