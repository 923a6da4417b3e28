#include "probes/platform/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nodehealth::platform {
namespace {

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

std::string SizeText(std::size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

Error NotRegular(const std::string& path, unsigned mode, std::string_view what) {
  const bool vowel = !what.empty() && std::string_view("aeiou").find(what[0]) != what.npos;
  return MakeError(path + " is " + DescribeFileType(mode) + ", not " + (vowel ? "an " : "a ") +
                       std::string(what) + " file",
                   S_ISDIR(mode) ? EISDIR : EINVAL);
}

Error SysError(std::string_view verb, const std::string& path, std::string_view what, int err) {
  return MakeError(
      std::string(verb) + " " + std::string(what) + " " + path + ": " + std::strerror(err), err);
}

// Opens `path` for reading and checks, on the descriptor, that it is a regular file.
Expected<int> OpenRegular(const std::string& path, std::string_view what) {
  struct stat before;
  if (::stat(path.c_str(), &before) != 0) return SysError("cannot open", path, what, errno);
  if (!S_ISREG(before.st_mode)) return NotRegular(path, before.st_mode, what);
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return SysError("cannot open", path, what, errno);
  struct stat opened;
  if (::fstat(fd, &opened) != 0) {
    const int err = errno;
    ::close(fd);
    return SysError("cannot stat", path, what, err);
  }
  if (!S_ISREG(opened.st_mode)) {
    ::close(fd);
    return NotRegular(path, opened.st_mode, what);
  }
  return fd;
}

}  // namespace

std::string DescribeFileType(unsigned mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "a file of unknown type";
}

Expected<std::string> ReadRegularFile(const std::string& path, std::size_t max_bytes,
                                      std::string_view what) {
  Expected<int> opened = OpenRegular(path, what);
  if (!opened) return opened.error();
  FdCloser file{*opened};
  std::string content;
  char buffer[16384];
  while (true) {
    const std::size_t room = max_bytes + 1 - content.size();  // one byte more tells "too large"
    const ssize_t n = ::read(file.fd, buffer, room < sizeof buffer ? room : sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("cannot read", path, what, errno);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
    if (content.size() > max_bytes) {
      return MakeError(path + ": " + std::string(what) + " larger than " + SizeText(max_bytes),
                       EFBIG);
    }
  }
  return content;
}

}  // namespace nodehealth::platform
