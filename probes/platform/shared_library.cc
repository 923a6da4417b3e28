#include "probes/platform/shared_library.h"

#include <dlfcn.h>
#include <link.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>

#include "probes/platform/regular_file.h"

namespace nodehealth::platform {

Expected<SharedLibrary> LoadSharedLibrary(const std::string& path) {
  if (path.find('/') != std::string::npos) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      return MakeError("cannot load " + path + ": it is " + DescribeFileType(st.st_mode) +
                           ", not a shared library",
                       EINVAL);
    }
  }
  ::dlerror();
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return MakeError("cannot load " + path + ": " + (why ? why : "unknown dlopen error"), ENOENT);
  }
  SharedLibrary library{handle, ""};
  link_map* map = nullptr;
  if (::dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr && map->l_name != nullptr) {
    library.loaded_file = map->l_name;
    if (char* real = ::realpath(map->l_name, nullptr)) {
      library.loaded_file = real;
      std::free(real);
    }
  }
  return library;
}

void* FindSymbol(const SharedLibrary& library, std::initializer_list<const char*> names,
                 const char** resolved) {
  for (const char* name : names) {
    if (void* symbol = ::dlsym(library.handle, name)) {
      if (resolved != nullptr) *resolved = name;
      return symbol;
    }
  }
  return nullptr;
}

}  // namespace nodehealth::platform
