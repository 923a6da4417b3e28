#include "probes/platform/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace nodehealth::platform {
namespace {

Error SysError(std::string_view what, std::string_view path, int err) {
  return MakeError(std::string(what) + " " + std::string(path) + ": " + std::strerror(err), err);
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string out(dir);
  while (!out.empty() && out.back() == '/') out.pop_back();
  out += '/';
  while (!name.empty() && name.front() == '/') name.remove_prefix(1);
  out += name;
  return out;
}

RootedFileSystem::RootedFileSystem(std::string root) : root_(std::move(root)) {
  while (!root_.empty() && root_.back() == '/') root_.pop_back();
}

std::string RootedFileSystem::HostPath(std::string_view path) const {
  if (root_.empty()) return std::string(path);
  return JoinPath(root_, path);
}

Expected<std::string> RootedFileSystem::ReadFile(std::string_view path,
                                                 std::size_t max_bytes) const {
  const std::string host = HostPath(path);
  // O_NONBLOCK: a FIFO or character device planted in a fixture (or /dev/kmsg itself) must not
  // block a passive probe.
  FdCloser file{::open(host.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (file.fd < 0) return SysError("cannot open", path, errno);
  std::string content;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(file.fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("cannot read", path, errno);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
    if (content.size() > max_bytes) {
      return MakeError("file too large: " + std::string(path) + " (over " +
                           std::to_string(max_bytes) + " bytes)",
                       EFBIG);
    }
  }
  return content;
}

Expected<std::string> RootedFileSystem::ReadAttribute(std::string_view path) const {
  const std::string host = HostPath(path);
  FdCloser file{::open(host.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (file.fd < 0) return SysError("cannot open", path, errno);
  char buffer[4096];
  ssize_t n;
  do {
    n = ::read(file.fd, buffer, sizeof buffer);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return SysError("cannot read", path, errno);
  if (static_cast<std::size_t>(n) == sizeof buffer) return ReadFile(path, 64 * 1024);  // not small
  return std::string(buffer, static_cast<std::size_t>(n));
}

Expected<std::vector<std::string>> RootedFileSystem::ListDir(std::string_view path) const {
  const std::string host = HostPath(path);
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(host.c_str()), ::closedir);
  if (!dir) return SysError("cannot list", path, errno);
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(dir.get())) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  if (errno != 0) return SysError("cannot list", path, errno);
  std::sort(names.begin(), names.end());
  return names;
}

Expected<std::string> RootedFileSystem::ReadLink(std::string_view path) const {
  const std::string host = HostPath(path);
  char buffer[4096];
  const ssize_t n = ::readlink(host.c_str(), buffer, sizeof buffer);
  if (n < 0) return SysError("cannot read link", path, errno);
  return std::string(buffer, static_cast<std::size_t>(n));
}

bool RootedFileSystem::Exists(std::string_view path) const {
  struct stat st;
  return ::stat(HostPath(path).c_str(), &st) == 0;
}

}  // namespace nodehealth::platform
