#include "probes/gpu_driver/gpu_driver_probe.h"

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include "probes/entity.h"
#include "probes/finding_catalog.h"
#include "probes/platform/sysfs_values.h"

namespace nodehealth {
namespace {

namespace nvml = platform::nvml;
using platform::FileSystem;
using platform::JoinPath;

constexpr std::string_view kSysModuleVersion = "/sys/module/nvidia/version";
constexpr std::string_view kProcVersion = "/proc/driver/nvidia/version";
constexpr std::string_view kFabricManagerBinary = "/usr/bin/nv-fabricmanager";
constexpr std::string_view kDpkgStatus = "/var/lib/dpkg/status";
constexpr std::string_view kLibraryDir = "/usr/lib/x86_64-linux-gnu";

// Reads an optional file: absent is fine (nullopt), unreadable is a problem.
std::optional<std::string> ReadOptional(const FileSystem& fs, std::string_view path,
                                        std::vector<std::string>& problems,
                                        std::size_t max_bytes = 64 * 1024) {
  Expected<std::string> text = fs.ReadFile(path, max_bytes);
  if (text) return *text;
  if (text.error().sys_errno != ENOENT && text.error().sys_errno != ENOTDIR) {
    problems.push_back(text.error().message);
  }
  return std::nullopt;
}

void GatherCuda(const FileSystem& fs, DriverFileFacts& facts) {
  std::set<std::string> seen_versions;  // "/usr/local/cuda" usually links to one of the others
  if (Expected<std::vector<std::string>> names = fs.ListDir("/usr/local")) {
    for (const std::string& name : *names) {
      if (!name.starts_with("cuda")) continue;
      const std::string dir = JoinPath("/usr/local", name);
      CudaInstall install;
      if (auto json = ReadOptional(fs, JoinPath(dir, "version.json"), facts.problems)) {
        Expected<CudaVersion> v = ParseCudaVersionJson(*json);
        if (!v) {
          facts.problems.push_back(dir + "/version.json: " + v.error().message);
          continue;
        }
        install.path = dir + "/version.json";
        install.version = *v;
      } else if (auto txt = ReadOptional(fs, JoinPath(dir, "version.txt"), facts.problems)) {
        Expected<CudaVersion> v = ParseCudaVersionTxt(*txt);
        if (!v) {
          facts.problems.push_back(dir + "/version.txt: " + v.error().message);
          continue;
        }
        install.path = dir + "/version.txt";
        install.version = *v;
      } else {
        continue;
      }
      if (Expected<std::vector<std::string>> compat = fs.ListDir(JoinPath(dir, "compat"))) {
        for (const std::string& file : *compat) {
          if (file.starts_with("libcuda.so.")) {
            const std::string version = file.substr(11);
            if (LooksLikeDriverVersion(version)) install.compat_driver = version;
          }
        }
      }
      const std::string key = install.version.ToString() + (install.compat_driver ? "+compat" : "");
      if (!seen_versions.insert(key).second) continue;
      facts.cuda.push_back(std::move(install));
    }
  }
  // Distribution-packaged runtimes (Debian's libcudart12) live in the library directory.
  if (Expected<std::vector<std::string>> names = fs.ListDir(kLibraryDir)) {
    for (const std::string& name : *names) {
      if (std::optional<CudaVersion> v = CudaVersionFromRuntimeFile(name)) {
        if (!seen_versions.insert(v->ToString()).second) continue;
        CudaInstall install;
        install.path = JoinPath(kLibraryDir, name);
        install.version = *v;
        install.runtime_only = true;
        facts.cuda.push_back(std::move(install));
      }
    }
  }
}

Evidence VersionEvidence(std::string source, std::string observed, std::string expected) {
  return Evidence{std::move(source), std::move(observed), std::move(expected)};
}

// The loaded kernel module's version, from sysfs or procfs.
std::optional<std::string> ModuleVersion(const DriverFileFacts& files) {
  if (files.module_version) return files.module_version;
  if (files.proc_version) return files.proc_version->version;
  return std::nullopt;
}

std::string ModuleSource(const DriverFileFacts& files) {
  return std::string(files.module_version ? kSysModuleVersion : kProcVersion);
}

bool VersionBelow(const std::string& a, std::string_view b) {
  Expected<int> c = platform::CompareDottedVersions(a, b);
  return c && *c < 0;
}

void CheckNvmlStartup(const DriverFileFacts& files, const DriverNvmlFacts& nvml_facts,
                      ProbeResult& result) {
  const platform::NvmlStartup& s = nvml_facts.startup;
  const std::optional<std::string> module = ModuleVersion(files);
  if (!s.loaded) {
    result.findings.push_back(
        MakeFinding(codes::kGpuDriverNotLoaded, "node",
                    "the NVIDIA user-space driver (NVML) cannot be loaded: " + s.load_error,
                    {VersionEvidence("dlopen " + s.library_path, s.load_error, "loadable")}));
    return;
  }
  const std::string init = "nvmlInit: " + DescribeNvmlReturn(s.init_return);
  switch (s.init_return) {
    case nvml::kSuccess:
      return;
    case nvml::kErrorDriverNotLoaded:
      result.findings.push_back(
          MakeFinding(codes::kGpuDriverNotLoaded, "node",
                      "NVML reports that the NVIDIA kernel driver is not running",
                      {VersionEvidence("nvml", init, "NVML_SUCCESS")}));
      return;
    case nvml::kErrorLibRmVersionMismatch: {
      std::vector<Evidence> evidence = {VersionEvidence("nvml", init, "NVML_SUCCESS")};
      const std::optional<std::string> library = DriverVersionFromLibraryFile(s.loaded_file);
      if (module) {
        evidence.push_back(VersionEvidence(ModuleSource(files), *module,
                                           library ? *library : "the library's version"));
      }
      if (library)
        evidence.push_back(VersionEvidence(s.loaded_file, *library, module.value_or("")));
      result.findings.push_back(MakeFinding(
          codes::kGpuDriverLibraryMismatch, "node",
          "driver/library version mismatch: the loaded kernel module" +
              (module ? " (" + *module + ")" : std::string()) +
              " differs from the user-space driver" + (library ? " (" + *library + ")" : "") +
              "; the driver was upgraded without a reboot",
          std::move(evidence)));
      return;
    }
    case nvml::kErrorNoPermission:
      MarkUndecided(result, codes::kProbeError, "node",
                    "NVML has no permission to talk to the driver (/dev/nvidiactl)",
                    {VersionEvidence("nvml", init, "NVML_SUCCESS")});
      return;
    default:
      MarkUndecided(result, codes::kProbeError, "node",
                    "NVML failed to initialise: " + DescribeNvmlReturn(s.init_return) +
                        (s.init_error.empty() ? "" : " (" + s.init_error + ")"),
                    {VersionEvidence("nvml", init, "NVML_SUCCESS")});
  }
}

void CheckLibraryMatchesModule(const DriverFileFacts& files, const DriverNvmlFacts& n,
                               ProbeResult& result) {
  const std::optional<std::string> module = ModuleVersion(files);
  if (!module) return;
  std::optional<std::string> library;
  std::string source;
  if (n.nvml_version_return == nvml::kSuccess) {
    if (Expected<std::string> v = DriverVersionFromNvmlVersion(n.nvml_version)) {
      library = *v;
      source = "nvml nvmlSystemGetNVMLVersion (" + n.nvml_version + ")";
    }
  }
  if (!library) {
    library = DriverVersionFromLibraryFile(n.startup.loaded_file);
    source = n.startup.loaded_file;
  }
  if (!library) return;
  Expected<int> cmp = platform::CompareDottedVersions(*module, *library);
  if (cmp && *cmp == 0) return;
  result.findings.push_back(MakeFinding(codes::kGpuDriverLibraryMismatch, "node",
                                        "kernel module " + *module + " and user-space driver " +
                                            *library +
                                            " differ; reboot to load the matching module",
                                        {VersionEvidence(ModuleSource(files), *module, *library),
                                         VersionEvidence(source, *library, *module)}));
}

void CheckProfileVersions(const GpuExpectations& gpu, const std::string& driver,
                          const std::string& driver_source, const DriverNvmlFacts* n,
                          ProbeResult& result) {
  auto range = [&]() {
    std::string r;
    if (gpu.driver_version_min) r += ">= " + *gpu.driver_version_min;
    if (gpu.driver_version_max) r += (r.empty() ? "<= " : ", <= ") + *gpu.driver_version_max;
    return r;
  };
  for (const auto& [bound, below] :
       {std::pair{gpu.driver_version_min, true}, std::pair{gpu.driver_version_max, false}}) {
    if (!bound) continue;
    Expected<int> cmp = platform::CompareDottedVersions(driver, *bound);
    if (!cmp) {
      MarkUndecided(result, codes::kProbeError, "node",
                    "cannot compare driver version \"" + driver +
                        "\" with the profile: " + cmp.error().message);
      return;
    }
    if ((below && *cmp < 0) || (!below && *cmp > 0)) {
      result.findings.push_back(
          MakeFinding(codes::kGpuDriverVersionMismatch, "node",
                      "driver " + driver + " is outside the profile's range (" + range() + ")",
                      {VersionEvidence(driver_source, driver, range())}));
      break;
    }
  }
  if (gpu.cuda_version_min && n && n->cuda_version_return == nvml::kSuccess) {
    const std::string cuda = FormatCudaDriverVersion(n->cuda_version);
    if (VersionBelow(cuda, *gpu.cuda_version_min)) {
      result.findings.push_back(
          MakeFinding(codes::kCudaVersionMismatch, "node",
                      "driver " + driver + " supports CUDA " + cuda +
                          ", below the profile's minimum " + *gpu.cuda_version_min,
                      {VersionEvidence("nvml nvmlSystemGetCudaDriverVersion", cuda,
                                       ">= " + *gpu.cuda_version_min)}));
    }
  }
}

void CheckCudaInstalls(const DriverFileFacts& files, const std::string& driver,
                       const std::string& driver_source, ProbeResult& result) {
  for (const CudaInstall& install : files.cuda) {
    const std::string what = std::string(install.runtime_only ? "CUDA runtime " : "CUDA ") +
                             install.version.ToString() + " (" + install.path + ")";
    const std::optional<std::string_view> needs = ToolkitDriverVersion(install.version);
    const std::optional<std::string_view> floor = MinorCompatibilityFloor(install.version.major);
    if (!needs && !floor) {
      result.notes.push_back(what + " is newer than nodehealth's minimum-driver table: not judged");
      continue;
    }
    const std::string_view hard = floor ? *floor : *needs;
    const bool below_hard = VersionBelow(driver, hard);
    const bool below_full = needs && VersionBelow(driver, *needs);
    if (!below_hard && !below_full) continue;
    const bool compat_covers =
        install.compat_driver && (!needs || !VersionBelow(*install.compat_driver, *needs));
    std::vector<Evidence> evidence = {VersionEvidence(
        driver_source, driver,
        needs ? ">= " + std::string(*needs) + " for all of " + install.version.ToString()
              : ">= " + std::string(hard))};
    if (floor) {
      evidence.push_back(VersionEvidence("NVIDIA minor-version compatibility",
                                         "CUDA " + std::to_string(install.version.major) + ".x",
                                         ">= " + std::string(*floor)));
    }
    if (install.compat_driver) {
      evidence.push_back(VersionEvidence(install.path.substr(0, install.path.rfind('/')) +
                                             "/compat/libcuda.so." + *install.compat_driver,
                                         *install.compat_driver, "forward-compatibility driver"));
    }
    Finding finding;
    if (below_hard) {
      finding = MakeFinding(codes::kCudaVersionMismatch, "node",
                            what + " needs driver >= " + std::string(hard) + "; the loaded " +
                                "driver " + driver + " cannot run its applications",
                            std::move(evidence));
      if (compat_covers) {
        finding.severity = Severity::kWarn;
        finding.action = Action::kMonitor;
        finding.message += " unless they load the installed forward-compatibility package";
      }
    } else {
      finding = MakeFinding(codes::kCudaVersionMismatch, "node",
                            what + " wants driver >= " + std::string(*needs) + "; driver " +
                                driver + " runs it only through minor-version compatibility " +
                                "(no PTX JIT of its code, no newer features)",
                            std::move(evidence));
      finding.severity = Severity::kWarn;
      finding.action = Action::kMonitor;
    }
    result.findings.push_back(std::move(finding));
  }
}

void CheckFabricManager(const DriverFileFacts& files, const Profile* profile,
                        const std::string& driver, const std::string& driver_source,
                        ProbeResult& result) {
  const bool required = profile && profile->gpu.fabric_manager.value_or(false);
  if (!files.fabric_manager_installed) {
    if (required) {
      result.findings.push_back(MakeFinding(
          codes::kGpuFabricNotReady, "node",
          "the profile needs NVIDIA Fabric Manager (NVSwitch system) but it is not installed",
          {VersionEvidence(std::string(kFabricManagerBinary), "absent", "installed")}));
    }
    return;
  }
  if (!files.fabric_manager_package) {
    result.notes.push_back("Fabric Manager is installed but its version is not in " +
                           std::string(kDpkgStatus) + ": not compared with the driver");
    return;
  }
  const InstalledPackage& fm = *files.fabric_manager_package;
  Expected<int> cmp = platform::CompareDottedVersions(fm.upstream_version, driver);
  if (cmp && *cmp == 0) return;
  result.findings.push_back(
      MakeFinding(codes::kGpuDriverVersionMismatch, "node",
                  "Fabric Manager " + fm.upstream_version + " does not match driver " + driver +
                      "; Fabric Manager refuses to start unless the versions are equal",
                  {VersionEvidence(std::string(kDpkgStatus) + " " + fm.name, fm.version, driver),
                   VersionEvidence(driver_source, driver, fm.upstream_version)}));
}

void CheckPerGpu(const DriverNvmlFacts& n, const std::string& driver, ProbeResult& result) {
  std::map<std::string, std::map<std::string, std::vector<std::string>>> vbios_by_model;
  for (const DriverNvmlFacts::Gpu& gpu : n.gpus) {
    if (gpu.gsp_return == nvml::kSuccess && !gpu.gsp_firmware.empty()) {
      Expected<int> cmp = platform::CompareDottedVersions(gpu.gsp_firmware, driver);
      if (!cmp || *cmp != 0) {
        result.findings.push_back(MakeFinding(
            codes::kGpuDriverVersionMismatch, GpuEntity(gpu.bus_id),
            "GSP firmware " + gpu.gsp_firmware + " on GPU " + gpu.bus_id + " differs from driver " +
                driver,
            {VersionEvidence("nvml nvmlDeviceGetGspFirmwareVersion", gpu.gsp_firmware, driver)}));
      }
    }
    if (gpu.vbios_return == nvml::kSuccess && !gpu.vbios.empty()) {
      vbios_by_model[gpu.name][gpu.vbios].push_back(gpu.bus_id);
    }
  }
  for (const auto& [model, versions] : vbios_by_model) {
    if (versions.size() < 2) continue;
    // The most common version is taken as the node's standard; the others are flagged.
    auto majority = std::max_element(versions.begin(), versions.end(), [](auto& a, auto& b) {
      return a.second.size() < b.second.size();
    });
    for (const auto& [version, buses] : versions) {
      if (version == majority->first) continue;
      for (const std::string& bus : buses) {
        result.findings.push_back(MakeFinding(
            codes::kGpuVbiosMismatch, GpuEntity(bus),
            model + " " + bus + " has VBIOS " + version + "; " +
                std::to_string(majority->second.size()) + " others have " + majority->first,
            {VersionEvidence("nvml nvmlDeviceGetVbiosVersion", version, majority->first)}));
      }
    }
  }
}

}  // namespace

DriverFileFacts GatherDriverFiles(const FileSystem& fs) {
  DriverFileFacts facts;
  if (auto text = ReadOptional(fs, kSysModuleVersion, facts.problems)) {
    std::string_view v = platform::TrimSpace(*text);
    if (LooksLikeDriverVersion(v)) {
      facts.module_version = std::string(v);
    } else {
      facts.problems.push_back(std::string(kSysModuleVersion) + ": malformed \"" +
                               std::string(v.substr(0, 40)) + "\"");
    }
  }
  if (auto text = ReadOptional(fs, kProcVersion, facts.problems)) {
    Expected<KernelModuleVersion> v = ParseProcDriverVersion(*text);
    if (v) {
      facts.proc_version = *v;
    } else {
      facts.problems.push_back(v.error().message);
    }
  }
  facts.fabric_manager_installed = fs.Exists(kFabricManagerBinary);
  if (facts.fabric_manager_installed) {
    if (auto status = ReadOptional(fs, kDpkgStatus, facts.problems, 64u << 20)) {
      facts.fabric_manager_package = FindFabricManagerPackage(*status);
    }
  }
  GatherCuda(fs, facts);
  return facts;
}

ProbeResult EvaluateGpuDriver(const NodeInventory& inventory, const Profile* profile,
                              const DriverFileFacts& files,
                              const std::optional<DriverNvmlFacts>& nvml_facts) {
  ProbeResult result;
  result.name = "gpu_driver";
  const bool expects_gpus = profile && profile->gpu.count.value_or(0) > 0;
  const bool pci_gpus = !inventory.PciGpus().empty();
  const std::optional<std::string> module = ModuleVersion(files);

  for (const std::string& problem : files.problems) {
    MarkUndecided(result, codes::kProbeError, "node", "unreadable driver file: " + problem,
                  {{"file", problem, "readable"}});
  }
  if (!pci_gpus && !expects_gpus && !inventory.nvidia_module_loaded && !module &&
      result.verdict != ProbeVerdict::kError) {
    MarkSkipped(result, "no NVIDIA GPU or driver on this node and the profile expects none");
    return result;
  }

  if ((pci_gpus || expects_gpus) && !inventory.nvidia_module_loaded && !module) {
    result.findings.push_back(MakeFinding(
        codes::kGpuDriverNotLoaded, "node",
        pci_gpus ? "NVIDIA GPUs are on PCI but the nvidia kernel module is not loaded"
                 : "the profile expects GPUs but the nvidia kernel module is not loaded",
        {{"/sys/module/nvidia", "absent", "loaded"}}));
  }

  std::string driver;
  std::string driver_source;
  const DriverNvmlFacts* n = nullptr;
  if (nvml_facts) {
    if (nvml_facts->status != platform::NvmlCallStatus::kOk) {
      MarkNvmlTimeout(result, nvml_facts->status, nvml_facts->stuck_in);
    } else {
      // A missing kernel module was reported above; NVML failing for that reason adds nothing.
      const bool module_absent = !inventory.nvidia_module_loaded && !module;
      if (!(module_absent && !nvml_facts->startup.ready()))
        CheckNvmlStartup(files, *nvml_facts, result);
      if (nvml_facts->startup.ready()) {
        n = &*nvml_facts;
        CheckLibraryMatchesModule(files, *n, result);
        if (n->driver_version_return == nvml::kSuccess) {
          driver = n->driver_version;
          driver_source = "nvml nvmlSystemGetDriverVersion";
        }
      }
    }
  }
  if (driver.empty() && module) {
    driver = *module;
    driver_source = ModuleSource(files);
  }

  if (!driver.empty()) {
    Measurement info{"driver_info", {{"driver_version", driver}}, 1};
    if (module) info.labels["kernel_module_version"] = *module;
    if (files.proc_version) {
      info.labels["kernel_module_flavor"] = files.proc_version->open ? "open" : "proprietary";
    }
    if (n && n->cuda_version_return == nvml::kSuccess) {
      info.labels["cuda_version"] = FormatCudaDriverVersion(n->cuda_version);
    }
    result.measurements.push_back(std::move(info));
    if (profile) CheckProfileVersions(profile->gpu, driver, driver_source, n, result);
    CheckCudaInstalls(files, driver, driver_source, result);
    CheckFabricManager(files, profile, driver, driver_source, result);
  } else if (result.findings.empty() && result.verdict != ProbeVerdict::kError) {
    MarkUndecided(result, codes::kProbeError, "node",
                  "no driver version available from NVML or the kernel module");
  }

  if (n) {
    CheckPerGpu(*n, driver, result);
    for (const DriverNvmlFacts::Gpu& gpu : n->gpus) {
      Measurement m{"gpu_info",
                    {{"gpu", gpu.bus_id},
                     {"pci_bus_id", gpu.bus_id},
                     {"uuid", gpu.uuid},
                     {"name", gpu.name},
                     {"driver_version", driver}},
                    1};
      if (gpu.vbios_return == nvml::kSuccess) m.labels["vbios_version"] = gpu.vbios;
      result.measurements.push_back(std::move(m));
    }
  }
  FinalizeVerdict(result);
  return result;
}

const ProbeInfo& GpuDriverProbe::info() const {
  static const ProbeInfo kInfo{
      .name = "gpu_driver",
      .kind = ProbeKind::kPassive,
      .summary = "kernel module, NVML, driver and CUDA versions against each other and the profile",
      .reads = {std::string_view(kSysModuleVersion), std::string_view(kProcVersion),
                "/usr/local/cuda*/version.json, compat/",
                "/usr/lib/x86_64-linux-gnu/libcudart.so.*", "/var/lib/dpkg/status (Fabric Manager)",
                "NVML: driver, NVML and CUDA versions, VBIOS, GSP firmware"},
      .codes = {codes::kGpuDriverNotLoaded, codes::kGpuDriverLibraryMismatch,
                codes::kGpuDriverVersionMismatch, codes::kCudaVersionMismatch,
                codes::kGpuVbiosMismatch, codes::kGpuFabricNotReady, codes::kProbeTimeout,
                codes::kProbeError},
      .timeout = std::chrono::seconds(10),
      .measurements =
          {
              GaugeMeasurement("driver_info", "",
                               "the NVIDIA driver: library and kernel module versions, module "
                               "flavor, the CUDA version it supports; value always 1",
                               {"cuda_version", "driver_version", "kernel_module_flavor",
                                "kernel_module_version"}),
              GaugeMeasurement(
                  "gpu_info", "", "one GPU as NVML names it: model, UUID, VBIOS; value always 1",
                  {"driver_version", "gpu", "name", "pci_bus_id", "uuid", "vbios_version"}),
          },
      .subject = ProbeSubject::kGpu,
  };
  return kInfo;
}

ProbeResult GpuDriverProbe::Run(const ProbeContext& context) const {
  // A node with no sign of NVIDIA hardware or driver skips without scanning for CUDA installs.
  const bool expects = context.profile && context.profile->gpu.count.value_or(0) > 0;
  if (!context.inventory.HasNvidiaSigns() && !expects && !context.fs.Exists(kProcVersion) &&
      !context.fs.Exists(kSysModuleVersion)) {
    return EvaluateGpuDriver(context.inventory, context.profile, DriverFileFacts{}, std::nullopt);
  }
  const DriverFileFacts files = GatherDriverFiles(context.fs);
  std::optional<DriverNvmlFacts> facts;
  const bool expects_gpus = context.profile && context.profile->gpu.count.value_or(0) > 0;
  if (context.nvml != nullptr && (context.inventory.HasNvidiaSigns() || expects_gpus ||
                                  files.module_version || files.proc_version)) {
    auto outcome =
        context.nvml->Run<DriverNvmlFacts>(context.deadline, [](platform::NvmlSession& session) {
          DriverNvmlFacts f;
          f.startup = session.startup();
          if (!f.startup.ready()) return f;
          platform::NvmlLibrary& lib = *session.library();
          f.driver_version_return = lib.SystemGetDriverVersion(&f.driver_version);
          f.nvml_version_return = lib.SystemGetNvmlVersion(&f.nvml_version);
          f.cuda_version_return = lib.SystemGetCudaDriverVersion(&f.cuda_version);
          const NvmlGpuList list = ListNvmlGpus(lib);
          for (const NvmlGpu& g : list.gpus) {
            if (!g.opened() || g.bus_id.empty()) continue;
            DriverNvmlFacts::Gpu gpu;
            gpu.bus_id = g.bus_id;
            gpu.name = g.name;
            gpu.uuid = g.uuid;
            gpu.vbios_return = lib.DeviceGetVbiosVersion(g.handle, &gpu.vbios);
            gpu.gsp_return = lib.DeviceGetGspFirmwareVersion(g.handle, &gpu.gsp_firmware);
            f.gpus.push_back(std::move(gpu));
          }
          return f;
        });
    facts.emplace(std::move(outcome.value));
    facts->status = outcome.status;
    facts->stuck_in = outcome.stuck_in;
  }
  return EvaluateGpuDriver(context.inventory, context.profile, files, facts);
}

}  // namespace nodehealth
