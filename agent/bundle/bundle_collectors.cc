#include "agent/bundle/bundle_collectors.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "probes/gpu_common/gpu_inventory.h"
#include "probes/platform/child_process.h"
#include "probes/platform/kernel_log_source.h"
#include "probes/platform/regular_file.h"

namespace nodehealth::bundle {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Fills status, exit status and error from a finished child.
void RecordChild(const platform::ChildResult& child, std::size_t max_output, BundleItem& item) {
  item.duration_seconds = child.seconds;
  item.timed_out = child.timed_out;
  item.truncated = child.out.size() >= max_output;
  if (!child.started) {
    item.status = "failed";
    item.error = child.error;
    return;
  }
  if (child.timed_out) {
    item.status = "timed_out";
    item.error = "killed at its deadline after " + std::to_string(child.seconds) + " s";
    return;
  }
  if (child.exit_code >= 0) item.exit_status = child.exit_code;
  if (child.exit_code != 0) {
    item.status = "failed";
    item.error = child.signal != 0 ? "ended by signal " + std::to_string(child.signal)
                                   : child.err.substr(0, 4096);
  }
}

}  // namespace

std::string FindProgram(std::string_view name) {
  if (name.find('/') != std::string_view::npos) {
    return IsExecutableFile(std::string(name)) ? std::string(name) : "";
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const std::size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + std::string(name);
    if (IsExecutableFile(candidate)) return candidate;
  }
  return "";
}

BundleItem RunTool(std::string path, std::vector<std::string> argv, platform::Deadline deadline,
                   std::size_t max_output) {
  BundleItem item;
  item.argv = argv;
  if (FindProgram(argv.at(0)).empty()) {
    item.status = "not_installed";
    item.error = argv[0] + " not found in PATH";
    return item;
  }
  platform::ChildResult child = platform::RunChild(argv, {}, deadline, max_output);
  RecordChild(child, max_output, item);
  // A tool that ran keeps its file even when it failed or was cut: what it printed before is
  // often the clue (ibstat without ports, a half-finished nvidia-smi -q on a hanging GPU).
  if (child.started) {
    item.path = std::move(path);
    item.content = std::move(child.out);
  }
  return item;
}

BundleItem CopyFile(std::string path, const std::string& host_path, std::size_t max_bytes,
                    std::string_view what) {
  BundleItem item;
  item.source = host_path;
  const auto start = Clock::now();
  Expected<std::string> content = platform::ReadRegularFile(host_path, max_bytes, what);
  item.duration_seconds = SecondsSince(start);
  if (!content) {
    item.status = "failed";
    item.error = content.error().message;
    return item;
  }
  item.path = std::move(path);
  item.content = std::move(*content);
  return item;
}

BundleItem TextItem(std::string path, std::string source, std::string content) {
  BundleItem item;
  item.path = std::move(path);
  item.source = std::move(source);
  item.content = std::move(content);
  return item;
}

bool IsFilteredKernelLine(std::string_view line) {
  for (std::string_view mark : {"NVRM", "Xid", "mlx5", "AER:", "PCIe Bus Error"}) {
    if (line.find(mark) != std::string_view::npos) return true;
  }
  return false;
}

std::vector<BundleItem> CollectKernelLog(const platform::FileSystem& fs, bool live,
                                         platform::Deadline deadline, std::size_t max_bytes) {
  BundleItem all;
  all.source = fs.HostPath("/dev/kmsg");
  const auto start = Clock::now();
  std::string text;
  Expected<platform::KernelLogStats> read = platform::ReadKernelLog(
      fs, deadline,
      [&](std::string_view line) {
        text.append(line);
        if (!line.ends_with('\n')) text += '\n';
      },
      max_bytes);
  all.duration_seconds = SecondsSince(start);
  if (read) {
    all.path = "kernel/kmsg.txt";
    all.truncated = !read->complete;
    if (!read->complete) all.error = "stopped at the deadline or the size cap";
    all.content = std::move(text);
  } else if (live) {
    // No CAP_SYSLOG with dmesg_restrict=1: dmesg may still be allowed (or fail the same way,
    // which the manifest then shows).
    const std::string kmsg_error = read.error().message;
    all = RunTool("kernel/kmsg.txt", {"dmesg"}, deadline, max_bytes);
    all.error = all.error.empty() ? "/dev/kmsg: " + kmsg_error
                                  : all.error + " (/dev/kmsg: " + kmsg_error + ")";
  } else {
    all.status = "failed";
    all.error = read.error().message;
  }

  BundleItem filtered;
  filtered.source = "kernel/kmsg.txt";
  if (!all.path.empty()) {
    filtered.path = "kernel/filtered.txt";
    std::string_view rest = all.content;
    while (!rest.empty()) {
      const std::size_t nl = rest.find('\n');
      const std::string_view line =
          rest.substr(0, nl == std::string_view::npos ? rest.size() : nl + 1);
      rest.remove_prefix(line.size());
      if (IsFilteredKernelLine(line)) filtered.content.append(line);
    }
  } else {
    filtered.status = "skipped";
    filtered.error = "no kernel log";
  }
  return {std::move(all), std::move(filtered)};
}

BundleItem CollectNvidiaBugReport(platform::Deadline deadline, std::size_t max_bytes) {
  BundleItem item;
  item.argv = {"nvidia-bug-report.sh", "--output-file", "<temp>/nvidia-bug-report.log"};
  if (FindProgram("nvidia-bug-report.sh").empty()) {
    item.status = "not_installed";
    item.error = "nvidia-bug-report.sh not found in PATH";
    return item;
  }
  std::string dir_template =
      (std::filesystem::temp_directory_path() / "nodehealth-bug-report.XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) {
    item.status = "failed";
    item.error = "cannot create a temporary directory: " + std::string(std::strerror(errno));
    return item;
  }
  const std::string dir = dir_template;
  // The script appends .gz to the name it is given.
  const std::string log = dir + "/nvidia-bug-report.log";
  platform::ChildResult child =
      platform::RunChild({"nvidia-bug-report.sh", "--output-file", log}, {}, deadline, 1u << 20);
  RecordChild(child, 1u << 20, item);
  item.truncated = false;  // its progress text is not the file
  Expected<std::string> content =
      platform::ReadRegularFile(log + ".gz", max_bytes, "nvidia-bug-report log");
  if (content) {
    item.path = "commands/nvidia-bug-report.log.gz";
    item.content = std::move(*content);
  } else if (item.error.empty()) {
    item.status = "failed";
    item.error = content.error().message;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return item;
}

BundleItem CollectTopologyXml(const std::string& sysroot, const std::string& topology_xml,
                              platform::Deadline deadline) {
  if (!topology_xml.empty()) {
    return CopyFile("topology/topology.xml", topology_xml, 64u << 20, "topology XML");
  }
  std::vector<std::string> argv = {"lstopo-no-graphics", "--of", "xml"};
  // hwloc reads a recorded /sys and /proc below a directory given as input (lstopo(1) --input).
  if (sysroot != "/" && !sysroot.empty()) argv.insert(argv.end(), {"--input", sysroot});
  argv.push_back("-");
  return RunTool("topology/topology.xml", argv, deadline);
}

BundleItem CollectGpuIdentities(platform::NvmlRuntime& nvml, platform::Deadline deadline,
                                std::vector<GpuIdentity>& gpus) {
  struct Outcome {
    std::string error;
    std::vector<GpuIdentity> gpus;
  };
  BundleItem item;
  item.source = "NVML";
  const auto start = Clock::now();
  auto outcome = nvml.Run<Outcome>(deadline, [](platform::NvmlSession& session) {
    Outcome o;
    if (!session.startup().ready()) {
      o.error = DescribeNvmlStartup(session.startup());
      return o;
    }
    platform::NvmlLibrary& lib = *session.library();
    const NvmlGpuList list = ListNvmlGpus(lib);
    if (list.count_return != platform::nvml::kSuccess) {
      o.error = "nvmlDeviceGetCount: " + DescribeNvmlReturn(list.count_return);
    }
    for (const NvmlGpu& g : list.gpus) {
      GpuIdentity gpu{g.index, g.bus_id, "", g.uuid, g.name, ""};
      if (g.opened()) {
        lib.DeviceGetSerial(g.handle, &gpu.serial);
        lib.DeviceGetVbiosVersion(g.handle, &gpu.vbios);
      }
      o.gpus.push_back(std::move(gpu));
    }
    return o;
  });
  item.duration_seconds = SecondsSince(start);
  if (outcome.status != platform::NvmlCallStatus::kOk) {
    item.status = "timed_out";
    item.timed_out = true;
    item.error = "NVML did not answer: " + outcome.stuck_in;
    return item;
  }
  if (!outcome.value.error.empty()) {
    item.status = "failed";
    item.error = outcome.value.error;
  }
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const GpuIdentity& g : outcome.value.gpus) {
    list.push_back({{"index", g.index},
                    {"pci_bus_id", g.bus_id},
                    {"serial", g.serial},
                    {"uuid", g.uuid},
                    {"name", g.name},
                    {"vbios_version", g.vbios}});
  }
  if (item.error.empty() || !outcome.value.gpus.empty()) {
    item.path = "gpus.json";
    item.content =
        list.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  }
  gpus = std::move(outcome.value.gpus);
  return item;
}

}  // namespace nodehealth::bundle
