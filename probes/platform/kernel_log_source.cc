#include "probes/platform/kernel_log_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace nodehealth::platform {
namespace {

Error SysError(std::string_view what, const std::string& path, int err) {
  std::string message = std::string(what) + " " + path + ": " + std::strerror(err);
  if (err == EPERM || err == EACCES) {
    message += " (reading the kernel log needs root or CAP_SYSLOG when dmesg_restrict=1)";
  }
  return MakeError(std::move(message), err);
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Splits `chunk` into lines; a trailing partial line is kept in `carry` for the next chunk.
void EmitLines(std::string& carry, std::string_view chunk,
               const std::function<void(std::string_view)>& on_line, KernelLogStats& stats) {
  std::size_t start = 0;
  while (true) {
    const void* nl = std::memchr(chunk.data() + start, '\n', chunk.size() - start);
    if (nl == nullptr) break;
    const std::size_t end = static_cast<const char*>(nl) - chunk.data();
    if (carry.empty()) {
      on_line(chunk.substr(start, end - start));
    } else {
      carry.append(chunk.data() + start, end - start);
      on_line(carry);
      carry.clear();
    }
    ++stats.lines;
    start = end + 1;
  }
  carry.append(chunk.data() + start, chunk.size() - start);
  // A "line" of megabytes is garbage, not a record: cut it so memory stays bounded.
  if (carry.size() > 64 * 1024) {
    on_line(carry);
    ++stats.lines;
    carry.clear();
  }
}

}  // namespace

Expected<bool> CheckKernelLogSource(const std::string& path, const struct stat& st) {
  // /dev/kmsg is major 1 (mem), minor 11 (Documentation/admin-guide/devices.txt).
  if (S_ISCHR(st.st_mode)) {
    if (major(st.st_rdev) == 1 && minor(st.st_rdev) == 11) return true;
    const char* known = "";
    if (major(st.st_rdev) == 1) {
      switch (minor(st.st_rdev)) {
        case 3:
          known = " (/dev/null)";
          break;
        case 5:
          known = " (/dev/zero)";
          break;
        case 8:
          known = " (/dev/random)";
          break;
        case 9:
          known = " (/dev/urandom)";
          break;
        default:
          break;
      }
    }
    return MakeError(path + " is not the kernel log: character device " +
                     std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev)) +
                     known + ", not /dev/kmsg (1:11)");
  }
  if (S_ISREG(st.st_mode)) return true;
  const char* what = S_ISFIFO(st.st_mode)   ? "a FIFO"
                     : S_ISSOCK(st.st_mode) ? "a socket"
                     : S_ISDIR(st.st_mode)  ? "a directory"
                     : S_ISBLK(st.st_mode)  ? "a block device"
                                            : "not a file";
  return MakeError(path + " is not the kernel log: " + what +
                   ", not /dev/kmsg or a regular file of records");
}

std::string EmptyKernelLogMessage(const std::string& path) {
  return "the kernel log " + path +
         " is empty; a real one always holds records since boot (in a container, /dev/kmsg may be "
         "hidden behind an empty file)";
}

Expected<KernelLogStats> ReadKernelLog(const FileSystem& fs, Deadline deadline,
                                       const std::function<void(std::string_view)>& on_line,
                                       std::size_t max_bytes) {
  KernelLogStats stats;
  stats.source = fs.HostPath("/dev/kmsg");
  Fd file;
  // O_NONBLOCK: a FIFO must not block the open; what was opened is then checked.
  file.fd = ::open(stats.source.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (file.fd < 0) return SysError("cannot open", stats.source, errno);
  struct stat st;
  if (::fstat(file.fd, &st) != 0) return SysError("cannot inspect", stats.source, errno);
  if (Expected<bool> source = CheckKernelLogSource(stats.source, st); !source) {
    return source.error();
  }
  stats.device = S_ISCHR(st.st_mode);

  // /dev/kmsg returns one record per read; 8 KiB holds the largest (CONSOLE_EXT_LOG_MAX).
  // A regular file is read in larger chunks.
  std::vector<char> buffer(stats.device ? 8192 : 256 * 1024);
  std::string carry;
  unsigned reads = 0;
  while (true) {
    if ((++reads & 255) == 0 && deadline.expired()) {
      stats.complete = false;
      break;
    }
    const ssize_t n = ::read(file.fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;  // /dev/kmsg: no more records
      if (errno == EPIPE) {        // records overwritten before we read them
        ++stats.overwritten;
        continue;
      }
      return SysError("cannot read", stats.source, errno);
    }
    if (n == 0) break;
    stats.bytes += static_cast<uint64_t>(n);
    std::string_view chunk(buffer.data(), static_cast<std::size_t>(n));
    if (stats.device && !chunk.empty() && chunk.back() != '\n') {
      EmitLines(carry, chunk, on_line, stats);
      EmitLines(carry, "\n", on_line, stats);  // a record always ends a line
    } else {
      EmitLines(carry, chunk, on_line, stats);
    }
    if (stats.bytes > max_bytes) {
      stats.complete = false;
      break;
    }
  }
  if (!carry.empty()) {  // a truncated last line is still a line
    on_line(carry);
    ++stats.lines;
  }
  if (stats.lines == 0 && stats.complete) return MakeError(EmptyKernelLogMessage(stats.source));
  return stats;
}

}  // namespace nodehealth::platform
