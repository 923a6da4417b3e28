#include "probes/platform/kernel_log_follower.h"

#include "probes/platform/kernel_log_source.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace nodehealth::platform {
namespace {

constexpr std::size_t kMaxLine = 64 * 1024;

Error SysError(std::string_view what, const std::string& path, int err) {
  std::string message = std::string(what) + " " + path + ": " + std::strerror(err);
  if (err == EPERM || err == EACCES) {
    message += " (reading the kernel log needs root or CAP_SYSLOG when dmesg_restrict=1)";
  }
  return MakeError(std::move(message), err);
}

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

Expected<std::unique_ptr<KernelLogFollower>> KernelLogFollower::Open(const FileSystem& fs) {
  std::unique_ptr<KernelLogFollower> f(new KernelLogFollower());
  f->path_ = fs.HostPath("/dev/kmsg");
  f->fd_ = ::open(f->path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (f->fd_ < 0) return SysError("cannot open", f->path_, errno);
  struct stat st;
  if (::fstat(f->fd_, &st) != 0) return SysError("cannot inspect", f->path_, errno);
  // Not /dev/kmsg or a file of records (/dev/zero, /dev/null, a FIFO): an endless or empty
  // stream that would pass for a log.
  if (Expected<bool> source = CheckKernelLogSource(f->path_, st); !source) return source.error();
  f->device_ = S_ISCHR(st.st_mode);
  f->inode_ = st.st_ino;
  f->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (f->wake_fd_ < 0) return SysError("eventfd for", f->path_, errno);
  if (!f->device_) {
    // Without inotify (instance limit reached) Wait falls back to short sleeps.
    f->inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (f->inotify_fd_ >= 0 &&
        ::inotify_add_watch(f->inotify_fd_, f->path_.c_str(),
                            IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF) < 0) {
      CloseFd(f->inotify_fd_);
    }
  }
  return f;
}

KernelLogFollower::~KernelLogFollower() {
  CloseFd(fd_);
  CloseFd(inotify_fd_);
  CloseFd(wake_fd_);
}

void KernelLogFollower::Emit(std::string_view chunk,
                             const std::function<void(std::string_view)>& on_line) {
  std::size_t start = 0;
  while (start < chunk.size()) {
    const void* nl = std::memchr(chunk.data() + start, '\n', chunk.size() - start);
    if (nl == nullptr) break;
    const std::size_t end = static_cast<const char*>(nl) - chunk.data();
    if (discarding_) {  // the rest of a line that was already cut and handed on
      discarding_ = false;
    } else if (carry_.empty()) {
      on_line(chunk.substr(start, std::min(end - start, kMaxLine)));
      ++stats_.lines;
    } else {
      carry_.append(chunk.data() + start, std::min(end - start, kMaxLine - carry_.size()));
      on_line(carry_);
      carry_.clear();
      ++stats_.lines;
    }
    start = end + 1;
  }
  if (discarding_ || start >= chunk.size()) return;
  carry_.append(chunk.data() + start, chunk.size() - start);
  if (carry_.size() > kMaxLine) {
    // Megabytes without a newline are garbage, not a record: hand on the first 64 KiB as one
    // line and drop the rest up to its newline, so memory stays bounded and it counts once.
    carry_.resize(kMaxLine);
    on_line(carry_);
    ++stats_.lines;
    carry_.clear();
    discarding_ = true;
  }
}

bool KernelLogFollower::ReopenIfReplaced() {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) return false;  // gone for now: keep the old descriptor
  if (st.st_ino != inode_) {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return false;
    CloseFd(fd_);
    fd_ = fd;
    inode_ = st.st_ino;
    if (inotify_fd_ >= 0) {
      ::inotify_add_watch(inotify_fd_, path_.c_str(),
                          IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF);
    }
  } else if (static_cast<uint64_t>(st.st_size) >= offset_) {
    return false;
  }
  offset_ = 0;  // replaced or truncated: the log starts again
  carry_.clear();
  discarding_ = false;
  ++stats_.restarts;
  return true;
}

Expected<bool> KernelLogFollower::ReadAvailable(
    const std::function<void(std::string_view)>& on_line, std::size_t max_bytes) {
  std::size_t read_now = 0;
  if (device_) {
    // One record per read; 8 KiB holds the largest (CONSOLE_EXT_LOG_MAX).
    char buffer[8192];
    while (read_now < max_bytes) {
      const ssize_t n = ::read(fd_, buffer, sizeof buffer);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return false;
        if (errno == EPIPE) {  // overwritten before we read them; the next read resynchronises
          ++stats_.overwritten;
          continue;
        }
        return SysError("cannot read", path_, errno);
      }
      if (n == 0) return false;
      stats_.bytes += static_cast<uint64_t>(n);
      read_now += static_cast<std::size_t>(n);
      Emit(std::string_view(buffer, static_cast<std::size_t>(n)), on_line);
      if (!carry_.empty() || discarding_) Emit("\n", on_line);  // a record ends its line
    }
    return true;
  }
  ReopenIfReplaced();
  std::vector<char> buffer(256 * 1024);
  while (read_now < max_bytes) {
    const ssize_t n = ::pread(fd_, buffer.data(), buffer.size(), static_cast<off_t>(offset_));
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("cannot read", path_, errno);
    }
    if (n == 0) return false;
    offset_ += static_cast<uint64_t>(n);
    stats_.bytes += static_cast<uint64_t>(n);
    read_now += static_cast<std::size_t>(n);
    Emit(std::string_view(buffer.data(), static_cast<std::size_t>(n)), on_line);
  }
  return true;
}

void KernelLogFollower::Wait(std::chrono::milliseconds timeout) {
  pollfd fds[2] = {};
  int count = 0;
  fds[count++] = {wake_fd_, POLLIN, 0};
  const int source = device_ ? fd_ : inotify_fd_;
  if (source >= 0) fds[count++] = {source, POLLIN, 0};
  int wait_ms = static_cast<int>(timeout.count());
  if (source < 0 && wait_ms > 200) wait_ms = 200;  // no inotify: poll the file's size instead
  if (::poll(fds, static_cast<nfds_t>(count), wait_ms) <= 0) return;
  char drain[4096];
  if (fds[0].revents & POLLIN) {
    while (::read(wake_fd_, drain, sizeof(uint64_t)) > 0) {
    }
  }
  if (!device_ && count > 1 && (fds[1].revents & POLLIN)) {
    while (::read(inotify_fd_, drain, sizeof drain) > 0) {
    }
  }
}

void KernelLogFollower::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

}  // namespace nodehealth::platform
