#include "probes/platform/trusted_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace nodehealth::platform {
namespace {

Error SysError(const std::string& what, const std::string& path, int err) {
  return MakeError(what + " " + path + ": " + std::strerror(err), err);
}

bool OwnedByUs(const struct stat& st) { return st.st_uid == 0 || st.st_uid == ::geteuid(); }

std::string OwnerText(const struct stat& st) {
  return "owned by uid " + std::to_string(st.st_uid) + ", not root or uid " +
         std::to_string(::geteuid());
}

std::string ModeText(const struct stat& st) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return text;
}

Expected<bool> CheckDirectoryChain(const std::string& real_dir) {
  // real_dir is absolute and free of symbolic links: check "/", then each component below it.
  std::size_t end = 0;
  while (true) {
    const std::string prefix = end == 0 ? "/" : real_dir.substr(0, end);
    struct stat st;
    if (::lstat(prefix.c_str(), &st) != 0) return SysError("cannot inspect", prefix, errno);
    if (!S_ISDIR(st.st_mode)) return MakeError(prefix + " is not a directory");
    if (!OwnedByUs(st)) return MakeError("untrusted directory " + prefix + ": " + OwnerText(st));
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
      return MakeError("untrusted directory " + prefix + ": writable by group or others (mode " +
                       ModeText(st) + ")");
    }
    if (end >= real_dir.size()) return true;
    end = real_dir.find('/', end + 1);
    if (end == std::string::npos) end = real_dir.size();
  }
}

Expected<std::string> RealDirectory(const std::string& dir) {
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(dir.c_str(), nullptr), &std::free);
  if (!real) return SysError("cannot resolve", dir, errno);
  return std::string(real.get());
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Expected<bool> CheckTrustedDirectory(const std::string& dir) {
  Expected<std::string> real = RealDirectory(dir);
  if (!real) return real.error();
  return CheckDirectoryChain(*real);
}

Expected<std::string> ReadTrustedFile(const std::string& path, std::size_t max_bytes) {
  // The directories first, resolved once: the file is then opened below the checked chain, so a
  // link somewhere else cannot be turned between the check and the open.
  const std::size_t slash = path.rfind('/');
  Expected<std::string> dir =
      RealDirectory(slash == std::string::npos ? "." : path.substr(0, slash + 1));
  if (!dir) return dir.error();
  if (Expected<bool> chain = CheckDirectoryChain(*dir); !chain) return chain.error();
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const std::string real = (*dir == "/" ? "" : *dir) + "/" + name;

  Fd file{::open(real.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
  if (file.fd < 0) {
    if (errno == ELOOP) return MakeError(path + " is a symbolic link: refused", ELOOP);
    return SysError("cannot open", path, errno);
  }
  struct stat st;
  if (::fstat(file.fd, &st) != 0) return SysError("cannot inspect", path, errno);
  if (!S_ISREG(st.st_mode)) return MakeError(path + " is not a regular file");
  if (!OwnedByUs(st)) return MakeError("untrusted file " + path + ": " + OwnerText(st));
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return MakeError("untrusted file " + path + ": writable by group or others (mode " +
                     ModeText(st) + ")");
  }

  std::string content;
  char buffer[16384];
  while (true) {
    const ssize_t n = ::read(file.fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("cannot read", path, errno);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
    if (content.size() > max_bytes) {
      return MakeError(path + " is larger than " + std::to_string(max_bytes) + " bytes", EFBIG);
    }
  }
  return content;
}

}  // namespace nodehealth::platform
