#include "probes/platform/nccl_library.h"

#include <cerrno>

namespace nodehealth::platform {

std::string NcclLibrary::Describe(const char* call, nccl::NcclResult result) const {
  const char* text = GetErrorString != nullptr ? GetErrorString(result) : nullptr;
  return std::string(call) + ": " + (text != nullptr ? text : "NCCL error") + " (" +
         std::to_string(result) + ")";
}

Expected<std::shared_ptr<const NcclLibrary>> LoadNcclLibrary(const std::string& path) {
  Expected<SharedLibrary> library = LoadSharedLibrary(path.empty() ? kDefaultNcclLibrary : path);
  if (!library) return library.error();
  auto n = std::make_shared<NcclLibrary>();
  n->library = *library;
  std::string missing;
  auto bind = [&](auto& out, const char* name) {
    out = reinterpret_cast<std::remove_reference_t<decltype(out)>>(FindSymbol(n->library, {name}));
    if (out == nullptr && missing.empty()) missing = name;
  };
  bind(n->GetVersion, "ncclGetVersion");
  bind(n->CommInitAll, "ncclCommInitAll");
  bind(n->CommDestroy, "ncclCommDestroy");
  bind(n->CommAbort, "ncclCommAbort");
  bind(n->CommGetAsyncError, "ncclCommGetAsyncError");
  bind(n->GetErrorString, "ncclGetErrorString");
  bind(n->GroupStart, "ncclGroupStart");
  bind(n->GroupEnd, "ncclGroupEnd");
  bind(n->AllReduce, "ncclAllReduce");
  if (!missing.empty()) {
    return MakeError(n->library.loaded_file + " lacks the NCCL entry point " + missing, ENOSYS);
  }
  return std::shared_ptr<const NcclLibrary>(std::move(n));
}

std::string NcclVersionString(int code) {
  if (code <= 0) return "unknown";
  const int major = code >= 10000 ? code / 10000 : code / 1000;
  const int minor = code >= 10000 ? (code / 100) % 100 : (code / 100) % 10;
  const int patch = code % 100;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

}  // namespace nodehealth::platform
