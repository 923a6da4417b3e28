#include "probes/sku_inventory/sku_inventory_probe.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <tuple>

#include "probes/entity.h"
#include "probes/finding_catalog.h"
#include "probes/platform/sysfs_values.h"
#include "probes/util/text.h"

namespace nodehealth {
namespace {

constexpr std::string_view kMeminfo = "/proc/meminfo";
constexpr std::string_view kCpuOnline = "/sys/devices/system/cpu/online";
constexpr std::string_view kPackageIds =
    "/sys/devices/system/cpu/cpu*/topology/physical_package_id";
constexpr std::string_view kCoreIds = "/sys/devices/system/cpu/cpu*/topology/core_id";
constexpr std::string_view kNvmeClass = "/sys/class/nvme";

// /proc/meminfo is about 1.5 KiB; a larger bound still refuses a runaway file at once.
constexpr std::size_t kMeminfoMaxBytes = 64 * 1024;
// x86-64's largest NR_CPUS (CONFIG_MAXSMP). A longer online list is a malformed file, and
// reading three files for each of a million CPUs would not be a passive probe.
constexpr int kMaxCpus = 8192;
// NVMe controllers named in evidence before "(+N more)".
constexpr std::size_t kMaxNamesShown = 16;

std::string CpuTopologyFile(int cpu, std::string_view file) {
  return "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/" + std::string(file);
}

void GatherMemory(const platform::FileSystem& fs, SkuFacts& facts) {
  Expected<std::string> text = fs.ReadFile(kMeminfo, kMeminfoMaxBytes);
  if (!text) {
    facts.memory_problem = SkuReadProblem{std::string(kMeminfo), text.error().message};
    return;
  }
  Expected<uint64_t> kib = sku::ParseMemTotalKib(*text);
  if (!kib) {
    facts.memory_problem = SkuReadProblem{std::string(kMeminfo), kib.error().message};
    return;
  }
  facts.memory_kib = *kib;
}

// A topology id; `absent_is_zero` for die_id, which kernels before 5.2 do not have.
Expected<int64_t> ReadTopologyId(const platform::FileSystem& fs, const std::string& path,
                                 bool absent_is_zero) {
  Expected<std::string> text = fs.ReadAttribute(path);
  if (!text) {
    if (absent_is_zero && text.error().sys_errno == ENOENT) return int64_t{0};
    return text.error();
  }
  Expected<int64_t> id = platform::ParseDecimal(platform::TrimSpace(*text));
  if (!id) return MakeError(path + ": " + id.error().message);
  return id;
}

// The online CPUs, each once, ascending; an Error for a list that is malformed or implausible.
Expected<std::vector<int>> OnlineCpus(std::string_view text) {
  Expected<std::vector<std::pair<int, int>>> ranges = platform::ParseCpuRanges(text);
  if (!ranges) return ranges.error();
  int64_t listed = 0;
  for (const auto& [first, last] : *ranges) listed += last - first + 1;
  if (listed > kMaxCpus) {
    return MakeError("more than " + std::to_string(kMaxCpus) + " CPUs listed online: \"" +
                     Printable(platform::TrimSpace(text), 64) + "\"");
  }
  std::vector<int> cpus;
  for (const auto& [first, last] : *ranges) {
    for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

void GatherCpus(const platform::FileSystem& fs, platform::Deadline deadline, SkuFacts& facts) {
  Expected<std::string> online = fs.ReadAttribute(kCpuOnline);
  if (!online) {
    facts.cpu_problem = SkuReadProblem{std::string(kCpuOnline), online.error().message};
    return;
  }
  facts.cpu_online = Printable(platform::TrimSpace(*online), 100);
  Expected<std::vector<int>> cpus = OnlineCpus(*online);
  if (!cpus) {
    facts.cpu_problem = SkuReadProblem{std::string(kCpuOnline), cpus.error().message};
    return;
  }
  facts.cpu_threads = static_cast<int>(cpus->size());
  std::vector<sku::CpuPlace> places;
  places.reserve(cpus->size());
  for (int cpu : *cpus) {
    if (deadline.expired()) {
      facts.timed_out = true;
      return;
    }
    sku::CpuPlace place;
    for (auto [file, out, optional] :
         {std::tuple{"physical_package_id", &place.package, false},
          std::tuple{"die_id", &place.die, true}, std::tuple{"core_id", &place.core, false}}) {
      const std::string path = CpuTopologyFile(cpu, file);
      Expected<int64_t> id = ReadTopologyId(fs, path, optional);
      if (!id) {
        facts.cpu_problem = SkuReadProblem{path, id.error().message};
        return;
      }
      *out = *id;
    }
    places.push_back(place);
  }
  facts.cpus = sku::CountCpus(places);
}

// "nvme2" before "nvme10".
bool ByNumber(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

void GatherNvme(const platform::FileSystem& fs, SkuFacts& facts) {
  Expected<std::vector<std::string>> names = fs.ListDir(kNvmeClass);
  if (!names) {
    if (names.error().sys_errno == ENOENT) {
      // The class exists once the nvme core module is loaded; without it there is no controller.
      facts.nvme_class_absent = true;
      facts.nvme_controllers.emplace();
    } else {
      facts.nvme_problem = SkuReadProblem{std::string(kNvmeClass), names.error().message};
    }
    return;
  }
  std::vector<std::string> controllers;
  for (std::string& name : *names) {
    if (sku::IsNvmeControllerName(name)) controllers.push_back(std::move(name));
  }
  std::sort(controllers.begin(), controllers.end(), ByNumber);
  facts.nvme_controllers = std::move(controllers);
}

std::string FormatPercent(double percent, const char* format) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, format, percent);
  return buffer;
}

std::string Kib(uint64_t kib) { return std::to_string(kib) + " kB"; }

void JudgeMemory(const SkuFacts& facts, const NodeExpectations& want, ProbeResult& result) {
  if (facts.memory_kib) {
    result.measurements.push_back(
        {"node_memory_bytes", {}, static_cast<double>(*facts.memory_kib) * 1024});
  }
  if (!want.memory_kib) {
    if (facts.memory_problem) {
      result.notes.push_back("memory not measured: " + facts.memory_problem->what);
    }
    return;
  }
  const uint64_t expected = *want.memory_kib;
  const std::string tolerance = FormatPercent(want.memory_tolerance_percent, "%g%%");
  const sku::MemoryBand band = sku::MemoryBandAround(expected, want.memory_tolerance_percent);
  const std::string expected_text = Kib(expected) + " within " + tolerance + " (" +
                                    std::to_string(band.low_kib) + " to " +
                                    std::to_string(band.high_kib) + " kB)";
  if (!facts.memory_kib) {
    MarkUndecided(result, codes::kProbeError, std::string(kNodeEntity),
                  "cannot tell the node's memory: " + facts.memory_problem->what,
                  {{facts.memory_problem->source, facts.memory_problem->what, expected_text}});
    return;
  }
  const uint64_t observed = *facts.memory_kib;
  if (band.Contains(observed)) return;
  const double deviation = (static_cast<double>(observed) - static_cast<double>(expected)) /
                           static_cast<double>(expected) * 100;
  result.findings.push_back(MakeFinding(
      codes::kNodeMemoryMismatch, std::string(kNodeEntity),
      "MemTotal " + Kib(observed) + " is " + FormatPercent(std::abs(deviation), "%.1f%%") +
          (deviation < 0 ? " below" : " above") + " the profile's " + Kib(expected) +
          " (tolerance " + tolerance +
          "): memory lost to a failed DIMM or channel, or another "
          "machine size",
      {{std::string(kMeminfo), "MemTotal: " + Kib(observed), expected_text}}));
}

void JudgeCpus(const SkuFacts& facts, const NodeExpectations& want, ProbeResult& result) {
  if (facts.cpus) {
    result.measurements.push_back({"node_cpu_sockets", {}, 1.0 * facts.cpus->sockets});
    result.measurements.push_back({"node_cpu_cores", {}, 1.0 * facts.cpus->cores});
  }
  if (facts.cpu_threads) {
    result.measurements.push_back({"node_cpu_threads", {}, 1.0 * *facts.cpu_threads});
  }
  const bool missing = ((want.cpu_sockets || want.cpu_cores) && !facts.cpus) ||
                       (want.cpu_threads && !facts.cpu_threads);
  if (facts.timed_out) {
    const std::string what = "the deadline passed while reading the CPUs' topology";
    if (missing) {
      MarkUndecided(result, codes::kProbeTimeout, std::string(kNodeEntity),
                    "cannot count the CPUs: " + what,
                    {{"/sys/devices/system/cpu/cpu*/topology", what, "read in time"}});
    } else {
      result.notes.push_back("CPU sockets and cores not counted: " + what);
    }
  } else if (facts.cpu_problem) {
    const SkuReadProblem& problem = *facts.cpu_problem;
    if (missing) {
      MarkUndecided(result, codes::kProbeError, std::string(kNodeEntity),
                    "cannot count the CPUs: " + problem.what,
                    {{problem.source, problem.what, "a readable CPU list and topology ids"}});
    } else {
      result.notes.push_back("CPUs not counted: " + problem.what);
    }
  }

  std::vector<std::string> differences;
  std::vector<Evidence> evidence;
  auto judge = [&](std::string_view what, std::optional<int> expected, std::optional<int> observed,
                   std::string_view source, std::string shown) {
    if (!expected || !observed || *expected == *observed) return;
    differences.push_back(std::string(what) + " " + std::to_string(*observed) + " (expected " +
                          std::to_string(*expected) + ")");
    evidence.push_back({std::string(source), std::move(shown), std::to_string(*expected)});
  };
  if (facts.cpus) {
    judge("sockets", want.cpu_sockets, facts.cpus->sockets, kPackageIds,
          std::to_string(facts.cpus->sockets));
    judge("cores", want.cpu_cores, facts.cpus->cores, kCoreIds, std::to_string(facts.cpus->cores));
  }
  if (facts.cpu_threads) {
    judge("threads", want.cpu_threads, facts.cpu_threads, kCpuOnline,
          std::to_string(*facts.cpu_threads) + " (online " + facts.cpu_online + ")");
  }
  if (evidence.empty()) return;
  std::string message = "CPUs differ from the profile:";
  for (std::size_t i = 0; i < differences.size(); ++i) {
    message += (i == 0 ? " " : ", ") + differences[i];
  }
  message += ": CPUs taken offline, SMT switched, or another machine size";
  result.findings.push_back(MakeFinding(codes::kCpuCountMismatch, std::string(kNodeEntity),
                                        std::move(message), std::move(evidence)));
}

void JudgeNvme(const SkuFacts& facts, const NodeExpectations& want, ProbeResult& result) {
  if (facts.nvme_controllers) {
    result.measurements.push_back(
        {"node_nvme_controllers", {}, 1.0 * facts.nvme_controllers->size()});
  }
  if (!want.nvme_count) {
    if (facts.nvme_problem) {
      result.notes.push_back("NVMe controllers not counted: " + facts.nvme_problem->what);
    }
    return;
  }
  const std::string expected = "at least " + std::to_string(*want.nvme_count);
  if (!facts.nvme_controllers) {
    MarkUndecided(result, codes::kProbeError, std::string(kNodeEntity),
                  "cannot count the NVMe controllers: " + facts.nvme_problem->what,
                  {{facts.nvme_problem->source, facts.nvme_problem->what, expected}});
    return;
  }
  const std::vector<std::string>& names = *facts.nvme_controllers;
  if (static_cast<int>(names.size()) >= *want.nvme_count) return;
  std::string observed = std::to_string(names.size());
  for (std::size_t i = 0; i < names.size() && i < kMaxNamesShown; ++i) {
    observed += (i == 0 ? ": " : ", ") + names[i];
  }
  if (names.size() > kMaxNamesShown) {
    observed += " (+" + std::to_string(names.size() - kMaxNamesShown) + " more)";
  }
  if (facts.nvme_class_absent) observed += " (" + std::string(kNvmeClass) + " does not exist)";
  result.findings.push_back(MakeFinding(
      codes::kNvmeMissing, std::string(kNodeEntity),
      "expected at least " + std::to_string(*want.nvme_count) + " NVMe controllers, found " +
          std::to_string(names.size()) + ": a drive that dropped off its bus or lost its driver",
      {{std::string(kNvmeClass), std::move(observed), expected}}));
}

}  // namespace

SkuFacts GatherSkuFacts(const platform::FileSystem& fs, platform::Deadline deadline) {
  SkuFacts facts;
  GatherMemory(fs, facts);
  GatherCpus(fs, deadline, facts);
  GatherNvme(fs, facts);
  return facts;
}

ProbeResult EvaluateSkuInventory(const SkuFacts& facts, const Profile* profile) {
  ProbeResult result;
  result.name = "sku_inventory";
  const NodeExpectations observe_only;
  const NodeExpectations& want = profile != nullptr ? profile->node : observe_only;
  JudgeMemory(facts, want, result);
  JudgeCpus(facts, want, result);
  JudgeNvme(facts, want, result);
  FinalizeVerdict(result);
  return result;
}

const ProbeInfo& SkuInventoryProbe::info() const {
  static const ProbeInfo kInfo{
      .name = "sku_inventory",
      .kind = ProbeKind::kPassive,
      .summary =
          "memory, CPU sockets, cores and threads, and NVMe controllers against the "
          "profile's machine size",
      .reads = {kMeminfo, kCpuOnline,
                "/sys/devices/system/cpu/cpu<N>/topology/{physical_package_id,die_id,core_id}",
                kNvmeClass},
      .codes = {codes::kNodeMemoryMismatch, codes::kCpuCountMismatch, codes::kNvmeMissing,
                codes::kProbeTimeout, codes::kProbeError},
      .timeout = std::chrono::seconds(10),
      .measurements =
          {
              GaugeMeasurement("node_memory_bytes", "bytes",
                               "Memory the kernel manages (MemTotal of /proc/meminfo)"),
              GaugeMeasurement("node_cpu_sockets", "",
                               "CPU sockets: distinct physical package ids of the online CPUs"),
              GaugeMeasurement("node_cpu_cores", "",
                               "CPU cores: distinct package, die and core ids of the online CPUs"),
              GaugeMeasurement("node_cpu_threads", "",
                               "Logical CPUs online (/sys/devices/system/cpu/online)"),
              GaugeMeasurement("node_nvme_controllers", "",
                               "NVMe controllers the kernel registered (/sys/class/nvme), any "
                               "transport"),
          },
      .subject = ProbeSubject::kNode,
  };
  return kInfo;
}

ProbeResult SkuInventoryProbe::Run(const ProbeContext& context) const {
  return EvaluateSkuInventory(GatherSkuFacts(context.fs, context.deadline), context.profile);
}

}  // namespace nodehealth
