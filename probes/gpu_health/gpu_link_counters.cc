#include "probes/gpu_health/gpu_link_counters.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include "probes/entity.h"
#include "probes/finding_catalog.h"

namespace nodehealth {
namespace {

// 60 -> "60", 0.5 -> "0.5", 150.25 -> "150.25" (two decimals at most, no exponent).
std::string Number(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.2f", value);
  std::string text = buffer;
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

// Notes about slow CRC growth per run, at most; the rest are counted in one more note.
constexpr int kMaxCrcNotes = 8;

std::string Label(const Measurement& m, const char* name) {
  const auto it = m.labels.find(name);
  return it == m.labels.end() ? "" : it->second;
}

// The NVML call or field a kind came from, for evidence.
std::string Source(const std::string& link, const std::string& kind) {
  if (kind == "crc") return "nvml field NVML_FI_DEV_NVLINK_ERROR_DL_CRC (link " + link + ")";
  std::string upper = kind;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return "nvml nvmlDeviceGetNvLinkErrorCounter(link " + link + ", NVML_NVLINK_ERROR_DL_" + upper +
         ")";
}

struct GpuErrors {
  std::vector<std::string> parts;
  std::vector<Evidence> evidence;
};

constexpr std::string_view kPcie = "pcie";
constexpr std::string_view kNvlink = "nvlink";
constexpr std::string_view kCrc = "crc";

}  // namespace

void GpuCounterMemory::Resize(const GpuExpectations& gpu) {
  if (gpu.pcie_replay_window_seconds != pcie_window_seconds_) {
    pcie_window_seconds_ = gpu.pcie_replay_window_seconds;
    pcie_ = ib::CounterWindow(pcie_window_seconds_);
  }
  if (gpu.nvlink_error_window_seconds != nvlink_window_seconds_) {
    nvlink_window_seconds_ = gpu.nvlink_error_window_seconds;
    nvlink_ = ib::CounterWindow(nvlink_window_seconds_);
  }
}

void GpuCounterMemory::AfterRun(const Profile* profile, double now, ProbeResult& result) {
  const GpuExpectations gpu = profile ? profile->gpu : GpuExpectations{};
  Resize(gpu);
  if (!pending_restore_.empty()) {
    RestoreHistory(std::exchange(pending_restore_, ""));  // windows are sized now
  }
  if (result.verdict == ProbeVerdict::kSkip) return;
  std::vector<Finding> added;
  std::map<std::string, GpuErrors> nvlink_by_gpu;
  int crc_notes = 0;
  for (const Measurement& m : result.measurements) {
    const std::string bus = Label(m, "gpu");
    if (bus.empty() || m.value < 0) continue;
    const uint64_t value = static_cast<uint64_t>(m.value);
    if (m.name == "gpu_pcie_replays_total") {
      pcie_.Add(bus, now, value);
      const uint64_t grew = pcie_.Increase(bus);
      const double span = now - pcie_.OldestTime(bus).value_or(now);
      const double per_window =
          static_cast<double>(grew) * pcie_window_seconds_ / std::max(span, pcie_window_seconds_);
      if (grew == 0 || per_window <= static_cast<double>(gpu.pcie_replay_max)) continue;
      const std::string window = Number(pcie_window_seconds_) + " s";
      added.push_back(
          MakeFinding(codes::kGpuPcieReplayRate, GpuEntity(bus),
                      "GPU " + bus + " PCIe link replayed " + Number(per_window) + " times per " +
                          window + " (+" + std::to_string(grew) + " in " + Number(span) + " s)",
                      {{"nvml nvmlDeviceGetPcieReplayCounter",
                        "+" + std::to_string(grew) + " in " + Number(span) + " s (now " +
                            std::to_string(value) + "): " + Number(per_window) + " per " + window,
                        "<= " + std::to_string(gpu.pcie_replay_max) + " per " + window}}));
      continue;
    }
    if (m.name != "gpu_nvlink_errors_total") continue;
    const std::string link = Label(m, "link");
    const std::string kind = Label(m, "kind");
    if (link.empty() || kind.empty()) continue;
    const std::string key = bus + "|" + link + "|" + kind;
    if (kind == "replay" || kind == "recovery") {
      nvlink_.Add(key, now, value);
      const uint64_t grew = nvlink_.Increase(key);
      if (grew == 0 || grew <= static_cast<uint64_t>(gpu.nvlink_error_max)) continue;
      // The span runs from the last sample at or before the window's start.
      const double span = now - nvlink_.OldestTime(key).value_or(now);
      GpuErrors& errors = nvlink_by_gpu[bus];
      errors.parts.push_back("link " + link + " " + kind + " +" + std::to_string(grew));
      errors.evidence.push_back({Source(link, kind),
                                 "+" + std::to_string(grew) + " in " + Number(span) + " s (now " +
                                     std::to_string(value) + ")",
                                 "<= " + std::to_string(gpu.nvlink_error_max) + " within " +
                                     Number(nvlink_window_seconds_) + " s"});
      continue;
    }
    // CRC: the rate between the last two rounds.
    crc_.Add(key, now, value);
    const uint64_t grew = crc_.Increase(key);
    const double span = now - crc_.OldestTime(key).value_or(now);
    if (grew == 0 || span <= 0) continue;
    const double rate = static_cast<double>(grew) / span;
    // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on "literal" + string.
    std::string observed = "+";
    observed += std::to_string(grew) + " in " + Number(span) + " s: " + Number(rate) + "/s (now " +
                std::to_string(value) + ")";
    if (rate < gpu.nvlink_crc_per_second_max) {
      if (++crc_notes > kMaxCrcNotes) continue;
      result.notes.push_back("GPU " + bus + " NVLink " + link + " " + kind + " errors " + observed +
                             ", below " + Number(gpu.nvlink_crc_per_second_max) +
                             "/s: retried by the link, not a fault");
      continue;
    }
    GpuErrors& errors = nvlink_by_gpu[bus];
    errors.parts.push_back("link " + link + " " + kind + " " + Number(rate) + "/s");
    errors.evidence.push_back(
        {Source(link, kind), observed, "< " + Number(gpu.nvlink_crc_per_second_max) + "/s"});
  }
  if (crc_notes > kMaxCrcNotes) {
    result.notes.push_back("NVLink CRC errors grew slowly on " +
                           std::to_string(crc_notes - kMaxCrcNotes) + " more links");
  }
  for (auto& [bus, errors] : nvlink_by_gpu) {
    std::string what;
    for (const std::string& part : errors.parts) what += (what.empty() ? "" : ", ") + part;
    added.push_back(MakeFinding(codes::kGpuNvlinkErrors, GpuEntity(bus),
                                "GPU " + bus + " NVLink errors are growing: " + what,
                                std::move(errors.evidence)));
  }
  if (added.empty()) return;
  for (Finding& f : added) result.findings.push_back(std::move(f));
  if (result.verdict == ProbeVerdict::kError) return;  // stays undecided, findings kept
  result.verdict = ProbeVerdict::kPass;
  FinalizeVerdict(result);
}

std::string GpuCounterMemory::SaveHistory() const {
  std::string out;
  const std::pair<std::string_view, const ib::CounterWindow*> windows[] = {
      {kPcie, &pcie_}, {kNvlink, &nvlink_}, {kCrc, &crc_}};
  for (const auto& [name, window] : windows) {
    const std::string text = window->Serialize();
    std::size_t start = 0;
    while (start < text.size()) {
      const std::size_t end = std::min(text.find('\n', start), text.size());
      out += std::string(name) + " " + text.substr(start, end - start) + "\n";
      start = end + 1;
    }
  }
  if (out.empty() && !pending_restore_.empty()) return pending_restore_;  // not run yet
  return out;
}

void GpuCounterMemory::RestoreHistory(std::string_view text) {
  if (pcie_window_seconds_ < 0) {  // before the first run: the windows' sizes are not known
    pending_restore_ = std::string(text);
    return;
  }
  std::string pcie, nvlink, crc;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, space);
    const std::string rest = std::string(line.substr(space + 1)) + "\n";
    if (name == kPcie) {
      pcie += rest;
    } else if (name == kNvlink) {
      nvlink += rest;
    } else if (name == kCrc) {
      crc += rest;
    }
  }
  pcie_.Restore(pcie);
  nvlink_.Restore(nvlink);
  crc_.Restore(crc);
}

}  // namespace nodehealth
