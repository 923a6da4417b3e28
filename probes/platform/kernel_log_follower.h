// Follows the kernel log for the agent: everything from the oldest record still in the ring
// buffer, then each new record as it is written.
//
//   * /dev/kmsg (a character device): one record per read(2); poll(2) wakes on new records.
//   * a regular file (DIR/dev/kmsg under --sysroot, docs/contract.md): read as it grows, the way
//     `tail -f` follows a file; inotify wakes on writes. A file that shrinks (truncated) or is
//     replaced (new inode) is read again from its start, and that is counted as `restarts`.
//
// Failure behaviour: never throws. Records overwritten before they were read (EPIPE on /dev/kmsg)
// are counted in `overwritten`, not fatal. A line longer than 64 KiB is cut there and counts as
// one line (bounded memory). Open
// failures are an Error with errno (EPERM without CAP_SYSLOG when dmesg_restrict=1). A partial
// last line in a file is held until its newline arrives.
//
// Thread safety: ReadAvailable and Wait from one thread (the watcher's); Wake from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "probes/platform/file_system.h"
#include "probes/util/expected.h"

namespace nodehealth::platform {

struct FollowStats {
  uint64_t lines = 0;
  uint64_t bytes = 0;
  uint64_t overwritten = 0;  // /dev/kmsg EPIPE: records lost to ring-buffer wrap
  uint64_t restarts = 0;     // a followed file was truncated or replaced
};

class KernelLogFollower {
 public:
  // Opens fs.HostPath("/dev/kmsg").
  static Expected<std::unique_ptr<KernelLogFollower>> Open(const FileSystem& fs);
  ~KernelLogFollower();
  KernelLogFollower(const KernelLogFollower&) = delete;
  KernelLogFollower& operator=(const KernelLogFollower&) = delete;

  // Calls `on_line` for every complete line available now, at most `max_bytes` of them (so one
  // call stays short under a flood; call again). Returns true when it stopped early because of
  // `max_bytes` (more is waiting). An Error means the source broke (read error other than EPIPE).
  Expected<bool> ReadAvailable(const std::function<void(std::string_view)>& on_line,
                               std::size_t max_bytes = 1u << 20);

  // Blocks until new data may be available, Wake() is called, or `timeout` passes.
  void Wait(std::chrono::milliseconds timeout);

  // Ends a Wait early (for shutdown). Async-signal-safe.
  void Wake();

  const FollowStats& stats() const { return stats_; }
  const std::string& path() const { return path_; }
  bool device() const { return device_; }

 private:
  KernelLogFollower() = default;
  bool ReopenIfReplaced();
  void Emit(std::string_view chunk, const std::function<void(std::string_view)>& on_line);

  std::string path_;
  bool device_ = false;
  int fd_ = -1;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;  // eventfd
  uint64_t offset_ = 0;
  uint64_t inode_ = 0;
  std::string carry_;
  bool discarding_ = false;  // inside a line cut at 64 KiB, until its newline
  FollowStats stats_;
};

}  // namespace nodehealth::platform
