// Reads the kernel log from its start: /dev/kmsg on a live node (one record per read(2), oldest
// record still in the ring buffer first), or, under --sysroot, DIR/dev/kmsg as a regular file of
// lines in any format ParseKernelLogLine understands.
//
// Failure behaviour: a missing or unreadable log is an Error with errno (EPERM without
// CAP_SYSLOG when dmesg_restrict=1); records overwritten while reading (EPIPE) are counted, not
// fatal; binary garbage is passed through for the parser to reject; reading stops at the deadline
// and at `max_bytes` with `complete = false`.
//
// Thread safety: stateless function.
#pragma once

#include <sys/stat.h>
#include <cstddef>
#include <cstdint>

#include <functional>
#include <string>
#include <string_view>

#include "probes/platform/deadline.h"
#include "probes/platform/file_system.h"
#include "probes/util/expected.h"

namespace nodehealth::platform {

struct KernelLogStats {
  std::string source;   // host path read
  bool device = false;  // true for the /dev/kmsg character device
  uint64_t lines = 0;   // lines handed to the callback (records and continuation lines)
  uint64_t bytes = 0;
  uint64_t overwritten = 0;  // EPIPE: records lost to ring-buffer wrap while reading
  bool complete = true;      // false when stopped by deadline or size limit
};

// Reads the whole log. Besides the failures above, a log that is not one (see
// CheckKernelLogSource) or holds no line at all is an Error: a real kernel log always holds
// records since boot, so an empty one is a hidden log (/dev/kmsg bound to an empty file in a
// container), never a clean one.
Expected<KernelLogStats> ReadKernelLog(const FileSystem& fs, Deadline deadline,
                                       const std::function<void(std::string_view)>& on_line,
                                       std::size_t max_bytes = 256u << 20);

// What may stand at /dev/kmsg, checked on the opened descriptor's fstat: the kernel's kmsg device
// (character device 1:11) or, under --sysroot, a regular file of records. Another device
// (/dev/null in a container, /dev/zero, /dev/urandom: endless or empty), a FIFO, a socket or a
// directory is an Error saying what it is.
Expected<bool> CheckKernelLogSource(const std::string& path, const struct stat& st);

// The message for a log that held no line.
std::string EmptyKernelLogMessage(const std::string& path);

}  // namespace nodehealth::platform
