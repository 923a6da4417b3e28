#include "agent/bundle/bundle_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <ostream>

#include "agent/bundle/bundle_archive.h"
#include "agent/bundle/bundle_collectors.h"
#include "agent/bundle/bundle_summary.h"
#include "agent/bundle/bundle_sysfs.h"
#include "agent/config/state_dir.h"
#include "agent/engine/run_plan.h"
#include "agent/policy/policy_state.h"
#include "agent/policy/report_support.h"
#include "exporters/atomic_file.h"
#include "exporters/json_report.h"
#include "probes/gpu_common/node_inventory.h"
#include "probes/platform/nvml_runtime.h"

namespace nodehealth::bundle {
namespace {

using Clock = std::chrono::steady_clock;
using platform::Deadline;

constexpr std::size_t kMaxStateFileBytes = 4u << 20;
constexpr std::size_t kMaxConfigBytes = 1u << 20;
constexpr std::size_t kMaxKernelLogBytes = 32u << 20;
constexpr std::size_t kMaxBugReportBytes = 200u << 20;
constexpr double kMaxCheckSeconds = 60;
// Left at the end of --timeout for the summary, compression and the write.
constexpr double kWriteReserveSeconds = 3;

Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A host name as part of a file name: anything but [A-Za-z0-9._-] becomes '_'.
std::string SafeName(std::string_view text) {
  std::string out;
  for (char c : text) {
    out +=
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ? c : '_';
  }
  return out.empty() ? "unknown" : out;
}

std::string UtcStamp(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &utc);
  return buffer;
}

// The node's names for --redact: the report's, its first label, the live host's, and the FQDNs
// that /etc/hosts and /etc/hostname give for it (no DNS: a lookup could hang).
std::vector<std::string> HostNames(const platform::FileSystem& fs, bool live,
                                   const std::string& node) {
  std::vector<std::string> names = {node, node.substr(0, node.find('.'))};
  if (live) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) names.emplace_back(host);
  }
  const std::string short_name = node.substr(0, node.find('.'));
  for (const char* file : {"/etc/hostname", "/etc/hosts"}) {
    Expected<std::string> text = fs.ReadFile(file, 1u << 20);
    if (!text) continue;
    std::string_view rest = *text;
    while (!rest.empty()) {
      const std::size_t end = rest.find_first_of(" \t\n");
      const std::string_view word = rest.substr(0, end);
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
      if (word.size() > short_name.size() && word.starts_with(short_name + ".")) {
        names.emplace_back(word);
      } else if (std::string_view(file) == "/etc/hostname" && !word.empty()) {
        names.emplace_back(word);
      }
    }
  }
  return names;
}

// The archive's temporary file beside its final name, created before any collector runs so that
// an unwritable target is bad usage at once, not after five minutes.
class OutputFile {
 public:
  ~OutputFile() { Abandon(); }

  Expected<bool> Open(const std::string& path) {
    path_ = path;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return MakeError(path + " is a directory, not a bundle file", EISDIR);
    }
    const std::size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    // The name RemoveStaleTemporaries (exporters/atomic_file.h) knows, for a run killed midway.
    temp_ = dir + "." + base + ".tmp.XXXXXX";
    fd_ = ::mkstemp(temp_.data());  // mode 0600
    if (fd_ < 0) {
      const int e = errno;
      temp_.clear();
      return MakeError("cannot create the bundle in " + (dir.empty() ? std::string(".") : dir) +
                           ": " + std::strerror(e),
                       e);
    }
    return true;
  }

  Expected<bool> Commit(std::string_view data) {
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return MakeError("cannot write " + temp_ + ": " + std::strerror(errno), errno);
      done += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd_, 0600) != 0 || ::fsync(fd_) != 0) {
      return MakeError("cannot write " + temp_ + ": " + std::strerror(errno), errno);
    }
    ::close(fd_);
    fd_ = -1;
    if (::rename(temp_.c_str(), path_.c_str()) != 0) {
      return MakeError("cannot rename " + temp_ + " to " + path_ + ": " + std::strerror(errno),
                       errno);
    }
    temp_.clear();
    return true;
  }

 private:
  void Abandon() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!temp_.empty()) ::unlink(temp_.c_str());
    temp_.clear();
  }

  std::string path_;
  std::string temp_;
  int fd_ = -1;
};

// The report's driver_info labels (driver and CUDA versions as NVML gave them).
void VersionsFromReport(const Report& report, NodeVersions& versions) {
  for (const ProbeResult& probe : report.probes) {
    for (const Measurement& m : probe.measurements) {
      if (m.name != "driver_info") continue;
      if (auto it = m.labels.find("driver_version"); it != m.labels.end()) {
        versions.driver_nvml = it->second;
      }
      if (auto it = m.labels.find("cuda_version"); it != m.labels.end()) versions.cuda = it->second;
    }
  }
}

BundleItem Skipped(std::string source, std::string why) {
  BundleItem item;
  item.source = std::move(source);
  item.status = "skipped";
  item.error = std::move(why);
  return item;
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

BundleResult RunBundle(const BundleOptions& options, std::ostream& out, std::ostream& err) {
  BundleResult result;
  const auto started = Clock::now();
  const auto created = std::chrono::system_clock::now();
  const Deadline deadline =
      Deadline::At(started + Seconds(std::max(options.timeout_seconds - kWriteReserveSeconds,
                                              options.timeout_seconds * 0.9)));
  auto tool_deadline = [&](double seconds) {
    return Deadline::In(Seconds(seconds)).EarlierOf(deadline);
  };

  const std::string& sysroot = options.check.sysroot;
  const bool live = agent::IsLiveRoot(sysroot);
  const platform::RootedFileSystem fs(sysroot == "/" ? "" : sysroot);
  const std::string node = NodeName(fs);
  std::unique_ptr<Redactor> redactor;
  if (options.redact) redactor = std::make_unique<Redactor>(HostNames(fs, live, node));
  const std::string shown_node = redactor ? redactor->HostName(node) : node;
  const std::string top = "nodehealth-bundle-" + SafeName(shown_node) + "-" + UtcStamp(created);
  const std::string output = options.output.value_or("./" + top + ".tar.gz");

  if (options.output) RemoveStaleTemporaries(output, std::chrono::seconds(600));
  OutputFile file;
  if (Expected<bool> opened = file.Open(output); !opened) {
    err << "nodehealth: " << opened.error().message << "\n";
    result.exit_code = 2;
    return result;
  }

  BundleBuilder builder(top, options.max_bytes, redactor.get());

  // 1. A fresh passive check, in process (engine/check_run.h), as `check --format json` prints it.
  CheckOptions check = options.check;
  check.mode = "check";
  check.format = "json";
  check.output.reset();
  check.timeout_seconds =
      std::max(0.1, std::min(kMaxCheckSeconds, platform::ToSeconds(deadline.remaining())));
  check.arm_hard_deadline = nullptr;
  std::optional<Report> report;
  std::string check_error;
  {
    BundleItem item;
    item.source = "nodehealth check --format json (in process)";
    const auto start = Clock::now();
    Expected<CheckRun> run = RunCheckOnce(check);
    item.duration_seconds = SecondsSince(start);
    if (run) {
      result.must_exit_immediately = run->must_exit_immediately;
      item.path = "report/check.json";
      item.content = RenderJsonReport(run->report);
      report = std::move(run->report);
    } else {
      item.status = "failed";
      item.error = check_error = run.error().message;
    }
    builder.Add(std::move(item));
  }

  // 2. The agent's files: state.json (sticky faults and their `since`), status.json,
  // slurm-healthcheck.json and any other *.json of its state directory.
  Expected<Config> config = LoadRunConfig(check);
  std::vector<agent::StickyFault> sticky;
  std::string state_note;
  {
    Expected<std::string> dir =
        agent::ResolveStateDir(options.state_dir, config ? *config : Config{}, sysroot);
    std::vector<std::string> names;
    std::error_code ec;
    if (dir) {
      for (const auto& entry : std::filesystem::directory_iterator(*dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.ends_with(".json") && !name.starts_with(".")) names.push_back(name);
      }
    }
    std::sort(names.begin(), names.end());
    if (!dir || ec) {
      const std::string why = dir ? *dir + ": " + ec.message() : dir.error().message;
      builder.Add(Skipped(dir ? *dir : "state directory", "no agent state: " + why));
      state_note = "no agent state (" + why + ")";
    } else if (names.empty()) {
      builder.Add(Skipped(*dir, "no *.json in the state directory"));
      state_note = "no agent state in " + *dir;
    }
    for (const std::string& name : names) {
      BundleItem item =
          CopyFile("agent/" + name, *dir + "/" + name, kMaxStateFileBytes, "agent state file");
      if (name == "state.json" && !item.path.empty()) {
        if (Expected<agent::PolicyState> state = agent::ParsePolicyState(item.content)) {
          sticky = state->sticky;
        } else {
          state_note = "state.json unreadable: " + state.error().message;
        }
      }
      builder.Add(std::move(item));
    }
  }

  // 3. The kernel log, whole and filtered.
  for (BundleItem& item : CollectKernelLog(fs, live, tool_deadline(options.tool_timeout_seconds),
                                           kMaxKernelLogBytes)) {
    builder.Add(std::move(item));
  }

  // 4. The vendors' tools, each under its deadline.
  const double tool_s = options.tool_timeout_seconds;
  builder.Add(RunTool("commands/nvidia-smi-q.txt", {"nvidia-smi", "-q"}, tool_deadline(tool_s)));
  builder.Add(CollectNvidiaBugReport(tool_deadline(options.bug_report_timeout_seconds),
                                     kMaxBugReportBytes));
  builder.Add(RunTool("commands/lspci-vvv.txt", {"lspci", "-vvv"}, tool_deadline(tool_s)));
  builder.Add(RunTool("commands/ibstat.txt", {"ibstat"}, tool_deadline(tool_s)));
  builder.Add(RunTool("commands/ibv_devinfo-v.txt", {"ibv_devinfo", "-v"}, tool_deadline(tool_s)));
  BundleItem fabric_manager = RunTool("commands/nv-fabricmanager-version.txt",
                                      {"nv-fabricmanager", "--version"}, tool_deadline(tool_s));
  NodeVersions versions = GatherVersions(fs, live);
  if (fabric_manager.status == "ok") {
    versions.fabric_manager = fabric_manager.content.substr(0, fabric_manager.content.find('\n'));
  }
  builder.Add(std::move(fabric_manager));

  // 5. What sysfs shows, whatever tools are installed (and the counters ibstat leaves out).
  builder.Add(TextItem("sysfs/pci.txt", fs.HostPath("/sys/bus/pci/devices"), PciView(fs)));
  builder.Add(
      TextItem("sysfs/infiniband.txt", fs.HostPath("/sys/class/infiniband"), InfinibandView(fs)));
  builder.Add(TextItem("sysfs/dmi.txt", fs.HostPath("/sys/class/dmi/id"), DmiView(fs)));
  builder.Add(
      CollectTopologyXml(sysroot, options.check.topology_xml.value_or(""), tool_deadline(tool_s)));

  // 6. GPU identities (serials) from NVML, and the versions.
  const std::string nvml_library = options.check.nvml_library.value_or(
      config && config->nvml_library ? *config->nvml_library : std::string(kDefaultNvmlLibrary));
  auto nvml = std::make_shared<platform::NvmlRuntime>(nvml_library);
  std::vector<GpuIdentity> gpus;
  builder.Add(CollectGpuIdentities(*nvml, tool_deadline(tool_s), gpus));
  if (nvml->wedged()) result.must_exit_immediately = true;
  if (report) VersionsFromReport(*report, versions);
  builder.Add(TextItem("versions.txt", "", RenderVersions(versions, options.version)));

  // 7. The config and profile this check used.
  if (!config) {
    builder.Add(
        Skipped(check.config.value_or(std::string(kDefaultConfigPath)), config.error().message));
  } else {
    if (config->path.empty()) {
      builder.Add(Skipped(std::string(kDefaultConfigPath), "no config file (defaults in use)"));
    } else {
      builder.Add(
          CopyFile("config/" + BaseName(config->path), config->path, kMaxConfigBytes, "config"));
    }
    const NodeInventory inventory = GatherNodeInventory(fs);
    Expected<RunPlan> plan =
        PlanRun(RunMode::kCheck, check, *config, GatherNodeFacts(fs, inventory));
    if (!plan) {
      builder.Add(Skipped("profile", plan.error().message));
    } else if (!plan->profile || plan->profile->path.empty()) {
      builder.Add(Skipped("profile", "observe-only: " + plan->profile_reason));
    } else {
      builder.Add(CopyFile("profile/" + BaseName(plan->profile->path), plan->profile->path,
                           kMaxConfigBytes, "profile"));
    }
  }

  // 8. The cloud's name for this VM.
  CloudIdentity cloud;
  if (options.no_cloud_metadata) {
    builder.Add(Skipped(options.azure_imds_endpoint, "--no-cloud-metadata"));
    builder.Add(Skipped(options.gcp_metadata_endpoint, "--no-cloud-metadata"));
  } else {
    for (BundleItem& item : CollectCloudMetadata(options.azure_imds_endpoint,
                                                 options.gcp_metadata_endpoint, deadline, cloud)) {
      builder.Add(std::move(item));
    }
  }

  // 9. SUMMARY.txt, MANIFEST.json, the archive.
  const std::string created_at = FormatRfc3339(created);
  const std::string summary = RenderSummary({.node = node,
                                             .created_at = created_at,
                                             .version = options.version,
                                             .report = report ? &*report : nullptr,
                                             .check_error = check_error,
                                             .cloud = cloud,
                                             .gpus = gpus,
                                             .versions = versions,
                                             .sticky = sticky,
                                             .state_note = state_note});
  const ManifestHeader header{.node = shown_node,
                              .version = options.version,
                              .created_at = created_at,
                              .redacted = options.redact,
                              .max_bytes = options.max_bytes,
                              .timeout_seconds = options.timeout_seconds};
  Expected<std::string> archive =
      builder.Finish(header, summary, std::chrono::system_clock::to_time_t(created));
  if (!archive) {
    err << "nodehealth: " << archive.error().message << "\n";
    result.exit_code = 2;
    return result;
  }
  if (Expected<bool> written = file.Commit(*archive); !written) {
    err << "nodehealth: " << written.error().message << "\n";
    result.exit_code = 2;
    return result;
  }

  int failed = 0;
  for (const BundleItem& item : builder.items()) {
    failed += item.status != "ok" && item.status != "skipped";
  }
  if (failed > 0) {
    err << "nodehealth bundle: " << failed << " of " << builder.items().size()
        << " collectors did not complete (see MANIFEST.json)\n";
  }
  out << "bundle: " << output << "\n"
      << "size: " << archive->size() << " bytes\n"
      << "sha256: " << Sha256Hex(*archive) << "\n";
  out.flush();
  return result;
}

}  // namespace nodehealth::bundle
