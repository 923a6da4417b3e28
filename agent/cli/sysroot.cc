#include "agent/cli/sysroot.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace nodehealth {
namespace {

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

Expected<bool> CheckSysroot(const std::string& sysroot) {
  if (sysroot.empty() || sysroot == "/") return true;
  struct stat st;
  if (::stat(sysroot.c_str(), &st) != 0) {
    return MakeError("--sysroot " + sysroot + ": " + std::strerror(errno), errno);
  }
  if (!S_ISDIR(st.st_mode)) return MakeError("--sysroot " + sysroot + " is not a directory");
  const std::string root = sysroot.back() == '/' ? sysroot : sysroot + "/";
  if (!IsDirectory(root + "sys") && !IsDirectory(root + "proc")) {
    return MakeError("--sysroot " + sysroot +
                     " does not look like a node's root: it has neither sys/ nor proc/");
  }
  return true;
}

}  // namespace nodehealth
