// ReadRegularFile: the one way nodehealth reads a file that a person or a config names (--profile,
// --config, --topology-xml, the topology baseline, profiles found on the search path, the agent's
// state and status files). Such a path may name anything: a FIFO that nobody writes (open(2) and
// read(2) would wait for ever), a socket, a device (/dev/zero never ends; opening /dev/watchdog
// arms the watchdog), a directory. Only a regular file of at most `max_bytes` is read.
//
// How: stat(2) first, so that a device is refused without being opened; then open(2) with
// O_NONBLOCK | O_CLOEXEC | O_NOCTTY and fstat(2) on the descriptor, which is what decides (a path
// swapped for a FIFO between the two calls is caught there, and O_NONBLOCK keeps even that open
// from waiting); then at most max_bytes + 1 bytes are read.
//
// Errors name the path and what it was meant to be: "cannot open profile /x: No such file or
// directory" (sys_errno ENOENT, so callers can treat a missing optional file as absent),
// "/etc/nodehealth is a directory, not a config file" (EISDIR), "/tmp/p is a FIFO, not a profile
// file" (EINVAL), "/x: profile larger than 1 MiB" (EFBIG).
//
// Thread safety: none needed (no shared state). Never blocks on the file's type; a regular file
// on a hung network file system can still block, as any read would.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "probes/util/expected.h"

namespace nodehealth::platform {

// `what` names the file's role in messages ("profile", "config", "topology baseline").
Expected<std::string> ReadRegularFile(const std::string& path, std::size_t max_bytes,
                                      std::string_view what);

// "a FIFO", "a socket", "a directory", "a character device", ... for an st_mode.
std::string DescribeFileType(unsigned mode);

}  // namespace nodehealth::platform
