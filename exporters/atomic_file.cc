#include "exporters/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string_view>

namespace nodehealth {

Expected<bool> WriteFileAtomically(const std::string& path, std::string_view content,
                                   unsigned mode) {
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  // A dot-prefixed name so that globbing readers (node_exporter's textfile collector reads
  // *.prom) never pick up the temporary file.
  std::string temp =
      (slash == std::string::npos ? std::string() : dir) + "." + base + ".tmp.XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) {
    return MakeError("cannot create a temporary file next to " + path + ": " + std::strerror(errno),
                     errno);
  }
  auto fail = [&](std::string_view what) -> Expected<bool> {
    const int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return MakeError(std::string(what) + " " + path + ": " + std::strerror(err), err);
  };
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) return fail("cannot set permissions of");
  if (::fsync(fd) != 0) return fail("cannot flush");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return MakeError("cannot close " + path + ": " + std::strerror(err), err);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return MakeError("cannot rename into " + path + ": " + std::strerror(err), err);
  }
  // The rename is in the directory: flush it too, or a power loss may bring back the old file.
  // Best effort: the new content is already visible to every reader.
  if (const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return true;
}

int RemoveStaleTemporaries(const std::string& path, std::chrono::seconds min_age) {
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  const std::string prefix =
      "." + (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp.";
  DIR* listing = ::opendir(dir.empty() ? "/" : dir.c_str());
  if (listing == nullptr) return 0;
  const time_t now = ::time(nullptr);
  int removed = 0;
  while (const dirent* entry = ::readdir(listing)) {
    const std::string_view name = entry->d_name;
    // mkstemp's six characters after the prefix, nothing else: never a file of another name.
    if (!name.starts_with(prefix) || name.size() != prefix.size() + 6) continue;
    struct stat st;
    if (::fstatat(::dirfd(listing), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode) || now - st.st_mtime < min_age.count()) continue;
    if (::unlinkat(::dirfd(listing), entry->d_name, 0) == 0) ++removed;
  }
  ::closedir(listing);
  return removed;
}

}  // namespace nodehealth
