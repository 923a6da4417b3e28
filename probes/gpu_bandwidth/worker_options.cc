#include "probes/gpu_bandwidth/worker_options.h"

#include <charconv>

#include "probes/util/byte_size.h"

namespace nodehealth::gpu_worker {
namespace {

Expected<int> ParseCount(std::string_view flag, std::string_view text, int min) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > 100000) {
    return MakeError(std::string(flag) + ": not a count from " + std::to_string(min) +
                     " to 100000: '" + std::string(text) + "'");
  }
  return value;
}

}  // namespace

Expected<WorkerOptions> ParseWorkerOptions(const std::vector<std::string>& args) {
  WorkerOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&]() -> Expected<std::string> {
      if (i + 1 >= args.size()) return MakeError(arg + " needs a value");
      return args[++i];
    };
    if (arg == "--help" || arg == "-h") {
      o.help = true;
      return o;
    } else if (arg == "--copies") {
      o.copies = true;
    } else if (arg == "--no-peer") {
      o.copy.peer = false;
    } else if (arg == "--nccl") {
      o.nccl = true;
    } else if (arg == "--cuda-library" || arg == "--nccl-library" || arg == "--sysfs-root") {
      Expected<std::string> v = value();
      if (!v) return v.error();
      (arg == "--cuda-library"   ? o.cuda_library
       : arg == "--nccl-library" ? o.nccl_library
                                 : o.sysfs_root) = *v;
    } else if (arg == "--copy-bytes") {
      Expected<std::string> v = value();
      if (!v) return v.error();
      Expected<uint64_t> size = ParseByteSize(*v);
      if (!size) return MakeError("--copy-bytes: " + size.error().message);
      o.copy.bytes = *size;
    } else if (arg == "--nccl-sizes") {
      Expected<std::string> v = value();
      if (!v) return v.error();
      o.nccl_options.sizes.clear();
      std::string_view rest = *v;
      while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        Expected<uint64_t> size = ParseByteSize(rest.substr(0, comma));
        if (!size) return MakeError("--nccl-sizes: " + size.error().message);
        o.nccl_options.sizes.push_back(*size);
        rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
      }
      if (o.nccl_options.sizes.empty()) return MakeError("--nccl-sizes needs a size");
    } else if (arg == "--copy-iterations" || arg == "--nccl-iterations" || arg == "--nccl-warmup") {
      Expected<std::string> v = value();
      if (!v) return v.error();
      Expected<int> n = ParseCount(arg, *v, arg == "--nccl-warmup" ? 0 : 1);
      if (!n) return n.error();
      (arg == "--copy-iterations"   ? o.copy.iterations
       : arg == "--nccl-iterations" ? o.nccl_options.iterations
                                    : o.nccl_options.warmup) = *n;
    } else {
      return MakeError("unknown option '" + arg + "'");
    }
  }
  if (!o.copies && !o.nccl) return MakeError("nothing to run: give --copies and/or --nccl");
  return o;
}

std::vector<std::string> WorkerArguments(const WorkerOptions& o) {
  std::vector<std::string> args;
  if (!o.cuda_library.empty()) args.insert(args.end(), {"--cuda-library", o.cuda_library});
  if (!o.nccl_library.empty()) args.insert(args.end(), {"--nccl-library", o.nccl_library});
  if (o.sysfs_root != "/") args.insert(args.end(), {"--sysfs-root", o.sysfs_root});
  if (o.copies) {
    args.insert(args.end(), {"--copies", "--copy-bytes", FormatByteSize(o.copy.bytes),
                             "--copy-iterations", std::to_string(o.copy.iterations)});
    if (!o.copy.peer) args.push_back("--no-peer");
  }
  if (o.nccl) {
    std::string sizes;
    for (uint64_t s : o.nccl_options.sizes) {
      // Appended in two steps: GCC 12 at -O3 warns falsely (-Wrestrict) on "," + string&&.
      if (!sizes.empty()) sizes += ',';
      sizes += FormatByteSize(s);
    }
    args.insert(args.end(), {"--nccl", "--nccl-sizes", sizes, "--nccl-iterations",
                             std::to_string(o.nccl_options.iterations), "--nccl-warmup",
                             std::to_string(o.nccl_options.warmup)});
  }
  return args;
}

std::string_view WorkerUsage() {
  return "usage: nodehealth-gpu-worker [--cuda-library PATH] [--nccl-library PATH]\n"
         "                           [--sysfs-root DIR] [--copies [--no-peer]\n"
         "                           [--copy-bytes SIZE] [--copy-iterations N]]\n"
         "                           [--nccl [--nccl-sizes SIZE,...] [--nccl-iterations N]\n"
         "                           [--nccl-warmup N]]\n"
         "Measures GPU copy bandwidth (CUDA driver API) and the in-node NCCL all-reduce and\n"
         "prints one JSON object (schema nodehealth-gpu-worker/1). Run by nodehealth's\n"
         "gpu_bandwidth and nccl_allreduce probes in a child process with a deadline.\n"
         "Defaults: --copy-bytes 256M --copy-iterations 20 --nccl-sizes 1G\n"
         "--nccl-iterations 20 --nccl-warmup 5. Exit status 0 with JSON (errors inside), 2 on\n"
         "bad usage.\n";
}

}  // namespace nodehealth::gpu_worker
