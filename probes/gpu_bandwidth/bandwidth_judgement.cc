#include "probes/gpu_bandwidth/bandwidth_judgement.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "probes/entity.h"
#include "probes/finding_catalog.h"

namespace nodehealth::gpu_worker {
namespace {

bool IsPeer(const Copy& c) { return c.direction == "peer"; }

// The median figure of each kind (a local direction, or "peer").
std::map<std::string, double> Medians(const std::vector<Copy>& copies) {
  std::map<std::string, std::vector<double>> by_kind;
  for (const Copy& c : copies) by_kind[c.direction].push_back(c.bytes_per_second);
  std::map<std::string, double> medians;
  for (auto& [kind, values] : by_kind) {
    if (values.size() < 3) continue;  // two figures cannot say which one is odd
    std::sort(values.begin(), values.end());
    medians[kind] = values[values.size() / 2];
  }
  return medians;
}

enum class Level { kFine, kWarn, kLow };

struct Verdict {
  Level level = Level::kFine;
  std::string expected;  // what the figure was held to
};

Verdict Judge(const Copy& c, const CopyFloors& floors,
              const std::map<std::string, double>& medians) {
  const std::optional<double> floor = FloorOf(c, floors);
  if (floor && c.bytes_per_second < *floor)
    return {Level::kLow, ">= " + GigabytesPerSecond(*floor)};
  if (auto m = medians.find(c.direction);
      m != medians.end() && c.bytes_per_second < floors.outlier_fraction * m->second) {
    return {Level::kLow, ">= " + std::to_string(static_cast<int>(floors.outlier_fraction * 100)) +
                             "% of the node's median " + GigabytesPerSecond(m->second)};
  }
  if (floor && c.bytes_per_second < *floor * (1 + floors.warn_margin)) {
    return {Level::kWarn, ">= " + GigabytesPerSecond(*floor * (1 + floors.warn_margin)) +
                              " (floor " + GigabytesPerSecond(*floor) +
                              " plus the warning margin)"};
  }
  return {};
}

std::string Clocks(const std::vector<Device>& devices, const std::string& gpu) {
  for (const Device& d : devices) {
    if (d.gpu == gpu && d.sm_clock_khz > 0) {
      return "SM " + std::to_string(d.sm_clock_khz / 1000) + " MHz, memory " +
             std::to_string(d.memory_clock_khz / 1000) + " MHz";
    }
  }
  return "clocks unknown";
}

Evidence CopyEvidence(const Copy& c, const Verdict& v, const std::vector<Device>& devices) {
  const std::string what =
      IsPeer(c) ? "peer copy " + c.gpu + " -> " + c.peer : c.direction + " copy";
  return {"nodehealth-gpu-worker " + what + ", " + std::to_string(c.iterations) + " x " +
              std::to_string(c.bytes) + " bytes (" + Clocks(devices, c.gpu) + ")",
          GigabytesPerSecond(c.bytes_per_second), v.expected};
}

Finding MakeBandwidthFinding(std::string_view code, std::string entity, bool low,
                             std::string message, std::vector<Evidence> evidence) {
  Finding f = MakeFinding(code, std::move(entity), std::move(message), std::move(evidence));
  if (!low) {  // inside the warning band: close to the floor, not below it
    f.severity = Severity::kWarn;
    f.action = Action::kMonitor;
  }
  return f;
}

void JudgeLocal(const std::vector<Copy>& copies, const CopyFloors& floors,
                const std::map<std::string, double>& medians, const std::vector<Device>& devices,
                std::vector<Finding>& findings) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::pair<const Copy*, Verdict>>> by_gpu;
  for (const Copy& c : copies) {
    if (IsPeer(c)) continue;
    const Verdict v = Judge(c, floors, medians);
    if (v.level == Level::kFine) continue;
    if (!by_gpu.count(c.gpu)) order.push_back(c.gpu);
    by_gpu[c.gpu].push_back({&c, v});
  }
  for (const std::string& gpu : order) {
    const auto& bad = by_gpu[gpu];
    const bool low = std::any_of(bad.begin(), bad.end(),
                                 [](const auto& b) { return b.second.level == Level::kLow; });
    std::string what;
    std::vector<Evidence> evidence;
    for (const auto& [copy, verdict] : bad) {
      what += (what.empty() ? "" : ", ") + copy->direction + " " +
              GigabytesPerSecond(copy->bytes_per_second);
      evidence.push_back(CopyEvidence(*copy, verdict, devices));
    }
    findings.push_back(MakeBandwidthFinding(
        codes::kGpuCopyBandwidthLow, GpuEntity(gpu), low,
        "GPU " + gpu + " copies " + (low ? "too slowly" : "close to the floor") + ": " + what,
        std::move(evidence)));
  }
}

void JudgePeers(const std::vector<Copy>& copies, const CopyFloors& floors,
                const std::map<std::string, double>& medians, const std::vector<Device>& devices,
                std::vector<Finding>& findings) {
  std::vector<std::pair<const Copy*, Verdict>> judged;
  std::set<std::string> gpus;
  for (const Copy& c : copies) {
    if (!IsPeer(c)) continue;
    gpus.insert(c.gpu);
    gpus.insert(c.peer);
    judged.push_back({&c, Judge(c, floors, medians)});
  }
  // A GPU all of whose peer copies are low is the fault, not each of its pairs.
  std::set<std::string> blamed;
  if (gpus.size() >= 3) {
    for (const std::string& gpu : gpus) {
      int involved = 0, low = 0;
      for (const auto& [c, v] : judged) {
        if (c->gpu != gpu && c->peer != gpu) continue;
        ++involved;
        low += v.level == Level::kLow;
      }
      if (involved >= 2 && low == involved) blamed.insert(gpu);
    }
  }
  for (const std::string& gpu : blamed) {
    std::vector<Evidence> evidence;
    for (const auto& [c, v] : judged) {
      if (c->gpu == gpu || c->peer == gpu) evidence.push_back(CopyEvidence(*c, v, devices));
    }
    findings.push_back(MakeBandwidthFinding(
        codes::kGpuPeerBandwidthLow, GpuEntity(gpu), true,
        "every peer copy to and from GPU " + gpu + " is slow: its links, not one pair's",
        std::move(evidence)));
  }
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::pair<const Copy*, Verdict>>> by_pair;
  for (const auto& [c, v] : judged) {
    if (v.level == Level::kFine || blamed.count(c->gpu) || blamed.count(c->peer)) continue;
    const std::string entity = GpuPairEntity(c->gpu, c->peer);
    if (!by_pair.count(entity)) order.push_back(entity);
    by_pair[entity].push_back({c, v});
  }
  for (const std::string& entity : order) {
    const auto& bad = by_pair[entity];
    const bool low = std::any_of(bad.begin(), bad.end(),
                                 [](const auto& b) { return b.second.level == Level::kLow; });
    std::string what;
    std::vector<Evidence> evidence;
    for (const auto& [c, v] : bad) {
      what += (what.empty() ? "" : ", ") + c->gpu + " -> " + c->peer + " " +
              GigabytesPerSecond(c->bytes_per_second);
      evidence.push_back(CopyEvidence(*c, v, devices));
    }
    findings.push_back(MakeBandwidthFinding(codes::kGpuPeerBandwidthLow, entity, low,
                                            std::string("peer copies between two GPUs are ") +
                                                (low ? "slow" : "close to the floor") + ": " + what,
                                            std::move(evidence)));
  }
}

}  // namespace

std::string GigabytesPerSecond(double bytes_per_second) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.2f GB/s", bytes_per_second / 1e9);
  return buffer;
}

std::optional<double> FloorOf(const Copy& copy, const CopyFloors& floors) {
  if (copy.direction == "host_to_device" || copy.direction == "device_to_host") {
    return floors.host_device;
  }
  if (copy.direction == "device_to_device") return floors.device;
  return floors.peer;
}

bool AnyLow(const std::vector<Copy>& copies, const CopyFloors& floors) {
  const std::map<std::string, double> medians = Medians(copies);
  return std::any_of(copies.begin(), copies.end(),
                     [&](const Copy& c) { return Judge(c, floors, medians).level == Level::kLow; });
}

std::vector<Copy> BestOf(const std::vector<Copy>& first, const std::vector<Copy>& second) {
  std::vector<Copy> best = first;
  for (const Copy& again : second) {
    auto same = std::find_if(best.begin(), best.end(), [&](const Copy& c) {
      return c.direction == again.direction && c.gpu == again.gpu && c.peer == again.peer;
    });
    if (same == best.end()) {
      best.push_back(again);
    } else if (again.bytes_per_second > same->bytes_per_second) {
      *same = again;
    }
  }
  return best;
}

std::vector<Finding> JudgeCopies(const std::vector<Copy>& copies, const CopyFloors& floors,
                                 const std::vector<Device>& devices) {
  const std::map<std::string, double> medians = Medians(copies);
  std::vector<Finding> findings;
  JudgeLocal(copies, floors, medians, devices, findings);
  JudgePeers(copies, floors, medians, devices, findings);
  return findings;
}

std::vector<Measurement> CopyMeasurements(const std::vector<Copy>& copies) {
  std::vector<Measurement> out;
  for (const Copy& c : copies) {
    if (IsPeer(c)) {
      out.push_back({"gpu_peer_bandwidth_bytes_per_second",
                     {{"gpu", c.gpu}, {"peer", c.peer}},
                     c.bytes_per_second});
    } else {
      out.push_back({"gpu_copy_bandwidth_bytes_per_second",
                     {{"direction", c.direction}, {"gpu", c.gpu}},
                     c.bytes_per_second});
    }
  }
  return out;
}

}  // namespace nodehealth::gpu_worker
