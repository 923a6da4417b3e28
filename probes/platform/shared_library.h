// Loading a vendor library with dlopen, shared by the CUDA driver and NCCL loaders: a path must be
// a regular file (dlopen's open(2) of a FIFO never returns, holding the loader's lock), and the
// file that was really loaded is reported, since a bare name goes through the loader's search.
// Handles are never dlclose'd: vendor libraries start threads that outlive a close.
//
// Thread safety: reentrant.
#pragma once

#include <initializer_list>
#include <string>

#include "probes/util/expected.h"

namespace nodehealth::platform {

struct SharedLibrary {
  void* handle = nullptr;
  std::string loaded_file;  // the resolved path of the file loaded (empty if unknown)
};

// dlopen(RTLD_NOW | RTLD_LOCAL). Error: "cannot load PATH: <why>".
Expected<SharedLibrary> LoadSharedLibrary(const std::string& path_or_name);

// The first of `names` the library exports (versioned names first), or null; `resolved` gets the
// name that matched.
void* FindSymbol(const SharedLibrary& library, std::initializer_list<const char*> names,
                 const char** resolved = nullptr);

}  // namespace nodehealth::platform
