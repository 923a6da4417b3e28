#include "probes/gpu_health/gpu_health_probe.h"

#include <string>

#include "probes/entity.h"
#include "probes/finding_catalog.h"
#include "probes/gpu_health/gpu_link_counters.h"

namespace nodehealth {
namespace {

namespace nvml = platform::nvml;

// This many retired pages (single- plus double-bit) fails the GPU: DCGM's health check and
// diagnostic fail at `total >= DCGM_LIMIT_MAX_RETIRED_PAGES`, 63 since it was "updated to match the
// field diag" (dcgmlib/dcgm_gpu_hardware_limits.h).
constexpr unsigned kMaxRetiredPages = 63;

bool Unsupported(nvml::Return r) {
  return r == nvml::kErrorNotSupported || r == nvml::kErrorFunctionNotFound;
}

std::string Nvml(std::string_view call) { return "nvml " + std::string(call); }

// Walks a sample's answers, turning NVML errors that are neither success nor "not supported"
// into findings. Returns false when the GPU is lost (nothing else about it is meaningful).
class GpuJudge {
 public:
  GpuJudge(const GpuHealthSample& sample, const Profile* profile, ProbeResult& result)
      : s_(sample),
        gpu_(profile ? &profile->gpu : nullptr),
        entity_(GpuEntity(sample.bus_id)),
        result_(result) {}

  void Run() {
    if (CheckLost()) return;
    CheckErrors();
    CheckEcc();
    CheckMemoryRetirement();
    CheckPcie();
    CheckNvlinks();
    CheckThermal();
    CheckRecoveryAction();
    CheckFabric();
    CheckCounters();
    CheckPower();
  }

 private:
  template <class T>
  bool Usable(const NvmlField<T>& field) const {
    return field.ok();
  }

  void Measure(std::string name, double value, std::map<std::string, std::string> labels = {}) {
    labels["gpu"] = s_.bus_id;
    result_.measurements.push_back({std::move(name), std::move(labels), value});
  }

  void Add(std::string_view code, std::string message, std::vector<Evidence> evidence) {
    result_.findings.push_back(MakeFinding(code, entity_, std::move(message), std::move(evidence)));
  }

  // Every return code of the sample, with the call it came from.
  template <class F>
  void ForEachReturn(F f) const {
    f("nvmlDeviceGetEccMode", s_.ecc_enabled.r);
    f("nvmlDeviceGetTotalEccErrors", s_.ecc_uncorrected_volatile.r);
    f("nvmlDeviceGetRemappedRows", s_.remapped_rows.r);
    f("nvmlDeviceGetCurrPcieLinkGeneration", s_.pcie_generation.r);
    f("nvmlDeviceGetCurrPcieLinkWidth", s_.pcie_width.r);
    f("nvmlDeviceGetMaxPcieLinkGeneration", s_.pcie_max_generation.r);
    f("nvmlDeviceGetMaxPcieLinkWidth", s_.pcie_max_width.r);
    f("nvmlDeviceGetPerformanceState", s_.performance_state.r);
    f("nvmlDeviceGetTemperature", s_.temperature.r);
    f("nvmlDeviceGetCurrentClocksEventReasons", s_.clock_event_reasons.r);
    for (nvml::Return r : s_.nvlink_returns) f("nvmlDeviceGetNvLinkState", r);
    f("nvmlDeviceGetPcieReplayCounter", s_.pcie_replays.r);
    f("nvmlDeviceGetEnforcedPowerLimit", s_.power_enforced_mw.r);
    f("nvmlDeviceGetPowerManagementDefaultLimit", s_.power_default_mw.r);
    for (const auto& [call, r] : s_.counter_errors) f(call, r);
  }

  bool CheckLost() {
    std::string lost_in;
    ForEachReturn([&](std::string_view call, nvml::Return r) {
      if (r == nvml::kErrorGpuIsLost && lost_in.empty()) lost_in = std::string(call);
    });
    if (lost_in.empty()) return false;
    Add(codes::kGpuLost, "NVML reports GPU " + s_.bus_id + " lost (fallen off the bus)",
        {{Nvml(lost_in), DescribeNvmlReturn(nvml::kErrorGpuIsLost), "NVML_SUCCESS"}});
    return true;
  }

  void CheckErrors() {
    bool reset_required = false;
    std::vector<std::string> failed;
    ForEachReturn([&](std::string_view call, nvml::Return r) {
      if (r == nvml::kSuccess || Unsupported(r) || r == nvml::kErrorInvalidArgument) return;
      if (r == nvml::kErrorResetRequired) {
        reset_required = true;
        return;
      }
      failed.push_back(std::string(call) + ": " + DescribeNvmlReturn(r));
    });
    if (reset_required) {
      Add(codes::kGpuRecoveryAction, "NVML reports that GPU " + s_.bus_id + " needs a reset",
          {{"nvml", DescribeNvmlReturn(nvml::kErrorResetRequired), "NVML_SUCCESS"}});
    }
    if (!failed.empty()) {
      std::vector<Evidence> evidence;
      for (const std::string& f : failed) evidence.push_back({"nvml", f, "NVML_SUCCESS"});
      MarkUndecided(result_, codes::kProbeError, entity_,
                    "NVML could not answer for GPU " + s_.bus_id + ": " + JoinLimited(failed, 3),
                    std::move(evidence));
    }
  }

  void CheckEcc() {
    if (Usable(s_.ecc_uncorrected_volatile)) {
      Measure("gpu_ecc_errors", static_cast<double>(s_.ecc_uncorrected_volatile.value),
              {{"type", "uncorrected"}, {"counter", "volatile"}});
    }
    if (Usable(s_.ecc_uncorrected_aggregate)) {
      Measure("gpu_ecc_errors", static_cast<double>(s_.ecc_uncorrected_aggregate.value),
              {{"type", "uncorrected"}, {"counter", "aggregate"}});
    }
    if (Usable(s_.ecc_corrected_volatile)) {
      Measure("gpu_ecc_errors", static_cast<double>(s_.ecc_corrected_volatile.value),
              {{"type", "corrected"}, {"counter", "volatile"}});
    }
    if (!Usable(s_.ecc_uncorrected_volatile)) return;
    const uint64_t allowed = static_cast<uint64_t>(
        gpu_ && gpu_->ecc_uncorrectable_max ? *gpu_->ecc_uncorrectable_max : 0);
    if (s_.ecc_uncorrected_volatile.value > allowed) {
      Add(codes::kGpuEccUncorrectable,
          "GPU " + s_.bus_id + " has " + std::to_string(s_.ecc_uncorrected_volatile.value) +
              " uncorrectable ECC errors since its last reset",
          {{Nvml("nvmlDeviceGetTotalEccErrors(UNCORRECTED, VOLATILE)"),
            std::to_string(s_.ecc_uncorrected_volatile.value), "<= " + std::to_string(allowed)}});
    }
  }

  void CheckMemoryRetirement() {
    if (Usable(s_.remapped_rows)) {
      const RemappedRows& rows = s_.remapped_rows.value;
      Measure("gpu_remapped_rows", rows.correctable, {{"cause", "correctable"}});
      Measure("gpu_remapped_rows", rows.uncorrectable, {{"cause", "uncorrectable"}});
      Measure("gpu_row_remap_pending", rows.pending ? 1 : 0);
      Measure("gpu_row_remap_failure", rows.failure ? 1 : 0);
      const std::string counts = std::to_string(rows.correctable) + " correctable, " +
                                 std::to_string(rows.uncorrectable) +
                                 " uncorrectable rows remapped";
      if (rows.failure) {
        Add(codes::kGpuRowRemapFailure,
            "row remapping failed on GPU " + s_.bus_id + ": no spare rows left (" + counts + ")",
            {{Nvml("nvmlDeviceGetRemappedRows"), "failureOccurred=1", "failureOccurred=0"}});
      }
      if (rows.pending) {
        Add(codes::kGpuRowRemapPending,
            "GPU " + s_.bus_id + " has a row remapping pending; a GPU reset applies it (" + counts +
                ")",
            {{Nvml("nvmlDeviceGetRemappedRows"), "isPending=1", "isPending=0"}});
      }
      return;
    }
    // Before Ampere: dynamic page retirement.
    if (Usable(s_.retired_pages_pending)) {
      Measure("gpu_retired_pages_pending", s_.retired_pages_pending.value ? 1 : 0);
      if (s_.retired_pages_pending.value) {
        Add(codes::kGpuRetiredPagesPending,
            "GPU " + s_.bus_id + " has memory pages pending retirement; a reset retires them",
            {{Nvml("nvmlDeviceGetRetiredPagesPendingStatus"), "pending", "not pending"}});
      }
    }
    if (Usable(s_.retired_pages_sbe) && Usable(s_.retired_pages_dbe)) {
      Measure("gpu_retired_pages", s_.retired_pages_sbe.value, {{"cause", "multiple_sbe"}});
      Measure("gpu_retired_pages", s_.retired_pages_dbe.value, {{"cause", "dbe"}});
      const unsigned total = s_.retired_pages_sbe.value + s_.retired_pages_dbe.value;
      if (total >= kMaxRetiredPages) {
        Add(codes::kGpuRetiredPagesLimit,
            "GPU " + s_.bus_id + " has retired " + std::to_string(total) + " memory pages",
            {{Nvml("nvmlDeviceGetRetiredPages"),
              std::to_string(s_.retired_pages_sbe.value) + " single-bit + " +
                  std::to_string(s_.retired_pages_dbe.value) + " double-bit",
              "< " + std::to_string(kMaxRetiredPages)}});
      }
    }
  }

  bool Idle() const {
    const bool idle_reason =
        Usable(s_.clock_event_reasons) && (s_.clock_event_reasons.value & nvml::kClocksGpuIdle);
    const bool low_pstate = Usable(s_.performance_state) && s_.performance_state.value > 2 &&
                            s_.performance_state.value != nvml::kPstateUnknown;
    return idle_reason || low_pstate;
  }

  void CheckPcie() {
    if (Usable(s_.pcie_generation)) {
      Measure("gpu_pcie_link_generation", s_.pcie_generation.value, {{"state", "current"}});
    }
    if (Usable(s_.pcie_max_generation)) {
      Measure("gpu_pcie_link_generation", s_.pcie_max_generation.value, {{"state", "max"}});
    }
    // What the GPU alone supports: below it, "max" is limited by the slot or switch.
    if (Usable(s_.pcie_device_max_generation)) {
      Measure("gpu_pcie_link_generation", s_.pcie_device_max_generation.value,
              {{"state", "device_max"}});
    }
    if (Usable(s_.pcie_width)) {
      Measure("gpu_pcie_link_width", s_.pcie_width.value, {{"state", "current"}});
    }
    if (Usable(s_.pcie_max_width)) {
      Measure("gpu_pcie_link_width", s_.pcie_max_width.value, {{"state", "max"}});
    }
    const std::string link = "GPU " + s_.bus_id + " PCIe link";
    // Width: a link that trained narrow stays narrow until it retrains.
    if (Usable(s_.pcie_width) && Usable(s_.pcie_max_width) &&
        s_.pcie_width.value < s_.pcie_max_width.value) {
      Add(codes::kGpuPcieLinkDegraded,
          link + " runs at x" + std::to_string(s_.pcie_width.value) + " of x" +
              std::to_string(s_.pcie_max_width.value),
          {{Nvml("nvmlDeviceGetCurrPcieLinkWidth"), "x" + std::to_string(s_.pcie_width.value),
            "x" + std::to_string(s_.pcie_max_width.value)}});
    } else if (gpu_ && gpu_->pcie_width && Usable(s_.pcie_width) &&
               static_cast<int>(s_.pcie_width.value) < *gpu_->pcie_width) {
      Add(codes::kGpuPcieLinkDegraded,
          link + " runs at x" + std::to_string(s_.pcie_width.value) + ", profile expects x" +
              std::to_string(*gpu_->pcie_width),
          {{Nvml("nvmlDeviceGetCurrPcieLinkWidth"), "x" + std::to_string(s_.pcie_width.value),
            "x" + std::to_string(*gpu_->pcie_width)}});
    }
    // Capability: what GPU and slot negotiated at most, against the profile.
    if (gpu_ && gpu_->pcie_generation && Usable(s_.pcie_max_generation) &&
        static_cast<int>(s_.pcie_max_generation.value) < *gpu_->pcie_generation) {
      Add(codes::kGpuPcieLinkDegraded,
          link + " can reach only Gen" + std::to_string(s_.pcie_max_generation.value) +
              ", profile expects Gen" + std::to_string(*gpu_->pcie_generation),
          {{Nvml("nvmlDeviceGetMaxPcieLinkGeneration"),
            "Gen" + std::to_string(s_.pcie_max_generation.value),
            "Gen" + std::to_string(*gpu_->pcie_generation)}});
      return;
    }
    if (!Usable(s_.pcie_generation) || !Usable(s_.pcie_max_generation) ||
        s_.pcie_generation.value >= s_.pcie_max_generation.value) {
      return;
    }
    const std::string lower = link + " at Gen" + std::to_string(s_.pcie_generation.value) +
                              " of Gen" + std::to_string(s_.pcie_max_generation.value);
    if (Idle()) {
      result_.notes.push_back(lower + " while idle: not judged (idle GPUs lower the link speed)");
      return;
    }
    if (!Usable(s_.performance_state) && !Usable(s_.clock_event_reasons)) {
      result_.notes.push_back(lower + ": not judged (NVML does not say whether the GPU is busy)");
      return;
    }
    Add(codes::kGpuPcieLinkDegraded,
        link + " runs at Gen" + std::to_string(s_.pcie_generation.value) + " of Gen" +
            std::to_string(s_.pcie_max_generation.value) + " while busy",
        {{Nvml("nvmlDeviceGetCurrPcieLinkGeneration"),
          "Gen" + std::to_string(s_.pcie_generation.value) +
              (Usable(s_.performance_state)
                   ? " (performance state P" + std::to_string(s_.performance_state.value) + ")"
                   : ""),
          "Gen" + std::to_string(s_.pcie_max_generation.value)}});
  }

  void CheckNvlinks() {
    int present = 0;
    int active = 0;
    std::vector<std::string> down;
    for (std::size_t link = 0; link < s_.nvlink_returns.size(); ++link) {
      if (s_.nvlink_returns[link] != nvml::kSuccess) continue;
      ++present;
      if (s_.nvlink_active[link]) {
        ++active;
      } else {
        down.push_back(std::to_string(link));
      }
    }
    if (present == 0 && !(gpu_ && gpu_->nvlink_count)) return;
    Measure("gpu_nvlinks", present, {{"state", "present"}});
    Measure("gpu_nvlinks", active, {{"state", "active"}});
    const int expected = gpu_ && gpu_->nvlink_count ? *gpu_->nvlink_count : present;
    if (active >= expected && down.empty()) return;
    std::string message = "GPU " + s_.bus_id + " has " + std::to_string(active) + " of " +
                          std::to_string(expected) + " NVLinks active";
    if (!down.empty()) message += " (inactive: " + JoinLimited(down, 18) + ")";
    Add(codes::kGpuNvlinkDown, std::move(message),
        {{Nvml("nvmlDeviceGetNvLinkState"), std::to_string(active) + " active",
          std::to_string(expected) + " active"}});
  }

  void CheckThermal() {
    if (Usable(s_.temperature)) Measure("gpu_temperature_celsius", s_.temperature.value);
    if (Usable(s_.slowdown_temperature)) {
      Measure("gpu_slowdown_temperature_celsius", s_.slowdown_temperature.value);
    }
    if (Usable(s_.temperature)) {
      const unsigned t = s_.temperature.value;
      if (Usable(s_.slowdown_temperature) && s_.slowdown_temperature.value > 0 &&
          t >= s_.slowdown_temperature.value) {
        Add(codes::kGpuTemperatureHigh,
            "GPU " + s_.bus_id + " is at " + std::to_string(t) + " C, at or above its slowdown " +
                "threshold",
            {{Nvml("nvmlDeviceGetTemperature"), std::to_string(t) + " C",
              "< " + std::to_string(s_.slowdown_temperature.value) + " C (slowdown)"}});
      } else if (gpu_ && gpu_->temperature_max_celsius &&
                 static_cast<int>(t) > *gpu_->temperature_max_celsius) {
        Add(codes::kGpuTemperatureHigh,
            "GPU " + s_.bus_id + " is at " + std::to_string(t) + " C, above the profile's " +
                std::to_string(*gpu_->temperature_max_celsius) + " C",
            {{Nvml("nvmlDeviceGetTemperature"), std::to_string(t) + " C",
              "<= " + std::to_string(*gpu_->temperature_max_celsius) + " C"}});
      }
    }
    if (!Usable(s_.clock_event_reasons)) return;
    struct Reason {
      uint64_t bit;
      const char* label;
      const char* text;
    };
    static constexpr Reason kReasons[] = {
        {nvml::kClocksHwSlowdown, "hw_slowdown", "hardware slowdown"},
        {nvml::kClocksHwThermalSlowdown, "hw_thermal_slowdown", "hardware thermal slowdown"},
        {nvml::kClocksHwPowerBrakeSlowdown, "hw_power_brake_slowdown", "power brake"},
        {nvml::kClocksSwThermalSlowdown, "sw_thermal_slowdown", "software thermal slowdown"},
    };
    std::vector<std::string> active;
    for (const Reason& reason : kReasons) {
      const bool on = (s_.clock_event_reasons.value & reason.bit) != 0;
      Measure("gpu_clock_event_active", on ? 1 : 0, {{"reason", reason.label}});
      if (on) active.push_back(reason.text);
    }
    if (Usable(s_.performance_state)) Measure("gpu_performance_state", s_.performance_state.value);
    if (active.empty()) return;
    char mask[32];
    std::snprintf(mask, sizeof mask, "0x%llx",
                  static_cast<unsigned long long>(s_.clock_event_reasons.value));
    Add(codes::kGpuClockSlowdown,
        "GPU " + s_.bus_id + " clocks are held down: " + JoinLimited(active),
        {{Nvml("nvmlDeviceGetCurrentClocksEventReasons"), mask, "no slowdown reasons"}});
  }

  void CheckRecoveryAction() {
    if (!Usable(s_.recovery_action)) return;
    const unsigned value = s_.recovery_action.value;
    Measure("gpu_recovery_action", value);
    if (value == nvml::kRecoveryNone) return;
    Action action = Action::kDrain;
    std::string what;
    switch (value) {
      case nvml::kRecoveryGpuReset:
        action = Action::kResetGpu;
        what = "a GPU reset";
        break;
      case nvml::kRecoveryNodeReboot:
        action = Action::kReboot;
        what = "a node reboot";
        break;
      case nvml::kRecoveryDrainP2p:
        what = "draining peer-to-peer traffic";
        break;
      case nvml::kRecoveryDrainAndReset:
        action = Action::kResetGpu;
        what = "drain and reset";
        break;
      default:
        what = "recovery action " + std::to_string(value) + " (unknown to nodehealth)";
    }
    Finding finding = MakeFinding(
        codes::kGpuRecoveryAction, entity_, "the driver asks for " + what + " on GPU " + s_.bus_id,
        {{Nvml("nvmlDeviceGetFieldValues(NVML_FI_DEV_GET_GPU_RECOVERY_ACTION)"),
          std::to_string(value), "0 (none)"}});
    finding.action = action;
    result_.findings.push_back(std::move(finding));
  }

  void CheckFabric() {
    if (!Usable(s_.fabric)) return;
    const FabricState& f = s_.fabric.value;
    if (f.state == nvml::kFabricStateNotSupported) return;
    Measure("gpu_fabric_state", f.state);
    if (f.state == nvml::kFabricStateCompleted && f.status == nvml::kSuccess) return;
    static constexpr const char* kStates[] = {"not supported", "not started", "in progress",
                                              "completed"};
    const std::string state = f.state < 4 ? kStates[f.state] : std::to_string(f.state);
    std::string observed = state;
    if (f.state == nvml::kFabricStateCompleted)
      observed += ", status " + DescribeNvmlReturn(f.status);
    Add(codes::kGpuFabricNotReady,
        "GPU " + s_.bus_id + " fabric registration is " + observed +
            ": CUDA cannot use it until Fabric Manager completes it",
        {{Nvml("nvmlDeviceGetGpuFabricInfo"), observed, "completed, NVML_SUCCESS"}});
  }

  void CheckCounters() {
    if (Usable(s_.pcie_replays)) Measure("gpu_pcie_replays_total", s_.pcie_replays.value);
    for (const NvlinkErrorCount& e : s_.nvlink_errors) {
      Measure("gpu_nvlink_errors_total", static_cast<double>(e.value),
              {{"link", std::to_string(e.link)}, {"kind", e.kind}});
    }
  }

  void CheckPower() {
    if (Usable(s_.power_enforced_mw))
      Measure("gpu_power_limit_watts", s_.power_enforced_mw.value / 1000.0, {{"kind", "enforced"}});
    if (Usable(s_.power_requested_mw)) {
      Measure("gpu_power_limit_watts", s_.power_requested_mw.value / 1000.0,
              {{"kind", "requested"}});
    }
    if (Usable(s_.power_default_mw))
      Measure("gpu_power_limit_watts", s_.power_default_mw.value / 1000.0, {{"kind", "default"}});
    if (Usable(s_.power_constraints)) {
      Measure("gpu_power_limit_watts", s_.power_constraints.value.min_mw / 1000.0,
              {{"kind", "min"}});
      Measure("gpu_power_limit_watts", s_.power_constraints.value.max_mw / 1000.0,
              {{"kind", "max"}});
    }
    if (!Usable(s_.power_enforced_mw) || !Usable(s_.power_default_mw)) return;
    const double ratio =
        gpu_ ? gpu_->power_limit_min_ratio : GpuExpectations{}.power_limit_min_ratio;
    const unsigned enforced = s_.power_enforced_mw.value;
    const unsigned def = s_.power_default_mw.value;
    const double floor_mw = static_cast<double>(def) * ratio;
    if (static_cast<double>(enforced) >= floor_mw) return;
    std::string observed = FormatWatts(enforced) + " (default " + FormatWatts(def);
    if (Usable(s_.power_constraints)) {
      observed += ", min " + FormatWatts(s_.power_constraints.value.min_mw) + ", max " +
                  FormatWatts(s_.power_constraints.value.max_mw);
    }
    if (Usable(s_.power_requested_mw))
      observed += ", requested " + FormatWatts(s_.power_requested_mw.value);
    observed += ")";
    std::string expected = ">= " + FormatWatts(static_cast<unsigned>(floor_mw + 0.5));
    if (ratio != 1.0) expected += " (" + FormatRatio(ratio) + " x default)";
    Add(codes::kGpuPowerCapped,
        "GPU " + s_.bus_id + " is capped at " + FormatWatts(enforced) +
            ", below its default power limit " + FormatWatts(def),
        {{Nvml("nvmlDeviceGetEnforcedPowerLimit"), observed, expected}});
  }

  static std::string FormatWatts(unsigned mw) {
    char buffer[32];
    if (mw % 1000 == 0) {
      std::snprintf(buffer, sizeof buffer, "%u W", mw / 1000);
    } else {
      std::snprintf(buffer, sizeof buffer, "%.3f W", mw / 1000.0);
    }
    return buffer;
  }

  static std::string FormatRatio(double ratio) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", ratio);
    return buffer;
  }

  const GpuHealthSample& s_;
  const GpuExpectations* gpu_;
  std::string entity_;
  ProbeResult& result_;
};

// A field value as an unsigned 64-bit number, by its value type.
uint64_t FieldNumber(const nvml::FieldValue& f) {
  switch (f.value_type) {
    case nvml::kValueTypeUnsignedLongLong:
      return f.value.ull;
    case nvml::kValueTypeSignedLongLong:
      return f.value.sll < 0 ? 0 : static_cast<uint64_t>(f.value.sll);
    case nvml::kValueTypeUnsignedLong:
      return f.value.ul;
    case nvml::kValueTypeSignedInt:
      return f.value.si < 0 ? 0 : static_cast<uint64_t>(f.value.si);
    case nvml::kValueTypeUnsignedShort:
      return f.value.us;
    default:
      return f.value.ui;
  }
}

// PCIe replays, power limits and NVLink error counters. "Not supported" (or a driver without the
// function) is no data; other errors are kept for CheckErrors.
void SampleCounters(platform::NvmlLibrary& lib, nvml::Device d, GpuHealthSample& s) {
  s.pcie_replays.r = lib.DeviceGetPcieReplayCounter(d, &s.pcie_replays.value);
  if (Unsupported(s.pcie_replays.r)) {
    std::vector<nvml::FieldValue> fields(1);
    fields[0] = {};
    fields[0].field_id = nvml::kFieldPcieReplayCounter;
    const nvml::Return fr = lib.DeviceGetFieldValues(d, &fields);
    if (fr == nvml::kSuccess && fields[0].nvml_return == nvml::kSuccess) {
      s.pcie_replays = {nvml::kSuccess, static_cast<unsigned>(FieldNumber(fields[0]))};
    }
  }
  s.power_enforced_mw.r = lib.DeviceGetEnforcedPowerLimit(d, &s.power_enforced_mw.value);
  s.power_requested_mw.r = lib.DeviceGetPowerManagementLimit(d, &s.power_requested_mw.value);
  s.power_default_mw.r = lib.DeviceGetPowerManagementDefaultLimit(d, &s.power_default_mw.value);
  s.power_constraints.r = lib.DeviceGetPowerManagementLimitConstraints(
      d, &s.power_constraints.value.min_mw, &s.power_constraints.value.max_mw);
  for (const auto& [call, r] :
       {std::pair<const char*, nvml::Return>{"nvmlDeviceGetPowerManagementLimit",
                                             s.power_requested_mw.r},
        {"nvmlDeviceGetPowerManagementLimitConstraints", s.power_constraints.r}}) {
    if (r != nvml::kSuccess && !Unsupported(r)) s.counter_errors.emplace_back(call, r);
  }

  // NVLink error counters of the links that are present (their state answered).
  std::vector<unsigned> links;
  for (std::size_t i = 0; i < s.nvlink_returns.size(); ++i) {
    if (s.nvlink_returns[i] == nvml::kSuccess) links.push_back(static_cast<unsigned>(i));
  }
  if (links.empty()) return;
  static constexpr std::pair<nvml::NvLinkErrorCounter, const char*> kKinds[] = {
      {nvml::kNvlinkErrorDlReplay, "replay"},
      {nvml::kNvlinkErrorDlRecovery, "recovery"},
      {nvml::kNvlinkErrorDlCrcFlit, "crc_flit"},
      {nvml::kNvlinkErrorDlCrcData, "crc_data"},
  };
  bool legacy_answers = false;
  for (unsigned link : links) {
    for (const auto& [counter, kind] : kKinds) {
      uint64_t value = 0;
      const nvml::Return r = lib.DeviceGetNvLinkErrorCounter(d, link, counter, &value);
      if (r == nvml::kSuccess) {
        s.nvlink_errors.push_back({link, kind, value});
        legacy_answers = true;
      } else if (!Unsupported(r)) {
        s.counter_errors.emplace_back("nvmlDeviceGetNvLinkErrorCounter", r);
        legacy_answers = true;
      }
    }
    // The first link tells whether this driver answers the call at all (pynvml's tests expect
    // NOT_SUPPORTED from drivers after 450 on some GPUs): then ask the field-values API.
    if (!legacy_answers) break;
  }
  if (legacy_answers) return;
  static constexpr std::pair<unsigned, const char*> kFields[] = {
      {nvml::kFieldNvlinkErrorDlReplay, "replay"},
      {nvml::kFieldNvlinkErrorDlRecovery, "recovery"},
      {nvml::kFieldNvlinkErrorDlCrc, "crc"},
  };
  std::vector<nvml::FieldValue> fields;
  for (unsigned link : links) {
    for (const auto& [id, kind] : kFields) {
      nvml::FieldValue f = {};
      f.field_id = id;
      f.scope_id = link;
      fields.push_back(f);
    }
  }
  if (lib.DeviceGetFieldValues(d, &fields) != nvml::kSuccess) return;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].nvml_return != nvml::kSuccess) continue;  // per field: no data
    s.nvlink_errors.push_back({fields[i].scope_id, kFields[i % 3].second, FieldNumber(fields[i])});
  }
}

}  // namespace

GpuHealthSample SampleGpuHealth(platform::NvmlLibrary& lib, const NvmlGpu& gpu) {
  GpuHealthSample s;
  s.bus_id = gpu.bus_id;
  s.name = gpu.name;
  nvml::Device d = gpu.handle;
  bool ecc_pending = false;
  s.ecc_enabled.r = lib.DeviceGetEccMode(d, &s.ecc_enabled.value, &ecc_pending);
  if (!s.ecc_enabled.ok() || s.ecc_enabled.value) {
    s.ecc_uncorrected_volatile.r = lib.DeviceGetTotalEccErrors(
        d, nvml::kMemoryErrorUncorrected, nvml::kVolatileEcc, &s.ecc_uncorrected_volatile.value);
    s.ecc_uncorrected_aggregate.r = lib.DeviceGetTotalEccErrors(
        d, nvml::kMemoryErrorUncorrected, nvml::kAggregateEcc, &s.ecc_uncorrected_aggregate.value);
    s.ecc_corrected_volatile.r = lib.DeviceGetTotalEccErrors(
        d, nvml::kMemoryErrorCorrected, nvml::kVolatileEcc, &s.ecc_corrected_volatile.value);
  } else {
    s.ecc_uncorrected_volatile.r = nvml::kErrorNotSupported;  // ECC off: no counters
  }
  RemappedRows& rows = s.remapped_rows.value;
  s.remapped_rows.r = lib.DeviceGetRemappedRows(d, &rows.correctable, &rows.uncorrectable,
                                                &rows.pending, &rows.failure);
  if (!s.remapped_rows.ok()) {
    s.retired_pages_pending.r =
        lib.DeviceGetRetiredPagesPendingStatus(d, &s.retired_pages_pending.value);
    s.retired_pages_sbe.r =
        lib.DeviceGetRetiredPageCount(d, nvml::kRetiredMultipleSbe, &s.retired_pages_sbe.value);
    s.retired_pages_dbe.r =
        lib.DeviceGetRetiredPageCount(d, nvml::kRetiredDbe, &s.retired_pages_dbe.value);
  }
  s.pcie_generation.r = lib.DeviceGetCurrPcieLinkGeneration(d, &s.pcie_generation.value);
  s.pcie_width.r = lib.DeviceGetCurrPcieLinkWidth(d, &s.pcie_width.value);
  s.pcie_max_generation.r = lib.DeviceGetMaxPcieLinkGeneration(d, &s.pcie_max_generation.value);
  s.pcie_max_width.r = lib.DeviceGetMaxPcieLinkWidth(d, &s.pcie_max_width.value);
  s.pcie_device_max_generation.r =
      lib.DeviceGetGpuMaxPcieLinkGeneration(d, &s.pcie_device_max_generation.value);
  s.performance_state.r = lib.DeviceGetPerformanceState(d, &s.performance_state.value);
  for (unsigned link = 0; link < nvml::kNvlinkMaxLinks; ++link) {
    bool active = false;
    const nvml::Return r = lib.DeviceGetNvLinkState(d, link, &active);
    s.nvlink_returns.push_back(r);
    s.nvlink_active.push_back(active);
    // No NVLink support at all: asking for 17 more links only repeats the answer.
    if (link == 0 && (r == nvml::kErrorNotSupported || r == nvml::kErrorFunctionNotFound)) break;
  }
  s.temperature.r = lib.DeviceGetTemperature(d, &s.temperature.value);
  s.slowdown_temperature.r =
      lib.DeviceGetTemperatureThreshold(d, nvml::kThresholdSlowdown, &s.slowdown_temperature.value);
  s.clock_event_reasons.r = lib.DeviceGetCurrentClocksEventReasons(d, &s.clock_event_reasons.value);
  std::vector<nvml::FieldValue> fields(1);
  fields[0] = {};
  fields[0].field_id = nvml::kFieldGpuRecoveryAction;
  const nvml::Return fr = lib.DeviceGetFieldValues(d, &fields);
  if (fr != nvml::kSuccess) {
    s.recovery_action.r = fr;
  } else if (fields[0].nvml_return != nvml::kSuccess) {
    s.recovery_action.r = fields[0].nvml_return;
  } else {
    s.recovery_action.r = nvml::kSuccess;
    switch (fields[0].value_type) {
      case nvml::kValueTypeUnsignedLongLong:
        s.recovery_action.value = static_cast<unsigned>(fields[0].value.ull);
        break;
      case nvml::kValueTypeSignedLongLong:
        s.recovery_action.value = static_cast<unsigned>(fields[0].value.sll);
        break;
      case nvml::kValueTypeUnsignedLong:
        s.recovery_action.value = static_cast<unsigned>(fields[0].value.ul);
        break;
      default:
        s.recovery_action.value = fields[0].value.ui;
    }
  }
  s.fabric.r = lib.DeviceGetGpuFabricState(d, &s.fabric.value.state, &s.fabric.value.status);
  SampleCounters(lib, d, s);
  return s;
}

ProbeResult EvaluateGpuHealth(const NodeInventory& inventory, const Profile* profile,
                              const std::optional<GpuHealthNvmlView>& nvml_view) {
  ProbeResult result;
  result.name = "gpu_health";
  const bool expects_gpus = profile && profile->gpu.count.value_or(0) > 0;
  if (!inventory.HasNvidiaSigns() && !expects_gpus) {
    MarkSkipped(result, "no NVIDIA GPU on this node and the profile expects none");
    return result;
  }
  if (!nvml_view) {
    MarkUndecided(result, codes::kProbeError, "node", "NVML is not configured for this run");
    return result;
  }
  if (nvml_view->status != platform::NvmlCallStatus::kOk) {
    MarkNvmlTimeout(result, nvml_view->status, nvml_view->stuck_in);
    return result;
  }
  if (!nvml_view->startup.ready()) {
    MarkUndecided(
        result, codes::kProbeError, "node",
        "GPU health cannot be read without NVML: " + DescribeNvmlStartup(nvml_view->startup),
        {{"nvml", DescribeNvmlStartup(nvml_view->startup), "NVML ready"}});
    return result;
  }
  if (nvml_view->list.count_return != nvml::kSuccess) {
    MarkUndecided(result, codes::kProbeError, "node",
                  "nvmlDeviceGetCount failed: " + DescribeNvmlReturn(nvml_view->list.count_return));
    return result;
  }
  for (const GpuHealthSample& sample : nvml_view->samples) {
    GpuJudge(sample, profile, result).Run();
  }
  FinalizeVerdict(result);
  return result;
}

const ProbeInfo& GpuHealthProbe::info() const {
  static const ProbeInfo kInfo{
      .name = "gpu_health",
      .kind = ProbeKind::kPassive,
      .summary =
          "ECC, row remapping, PCIe link, NVLinks, temperature, clock events, recovery "
          "action and fabric state of each GPU",
      .reads = {"NVML: ECC, remapped rows, retired pages, PCIe, NVLink, temperature, clock "
                "events, field values, fabric info, PCIe replay and NVLink error counters, power "
                "limits"},
      .codes = {codes::kGpuEccUncorrectable, codes::kGpuRowRemapPending, codes::kGpuRowRemapFailure,
                codes::kGpuRetiredPagesPending, codes::kGpuRetiredPagesLimit,
                codes::kGpuPcieLinkDegraded, codes::kGpuNvlinkDown, codes::kGpuTemperatureHigh,
                codes::kGpuClockSlowdown, codes::kGpuRecoveryAction, codes::kGpuFabricNotReady,
                codes::kGpuPowerCapped, codes::kGpuPcieReplayRate, codes::kGpuNvlinkErrors,
                codes::kGpuLost, codes::kProbeTimeout, codes::kProbeError},
      .timeout = std::chrono::seconds(10),
      .measurements =
          {
              GaugeMeasurement(
                  "gpu_ecc_errors", "",
                  "ECC errors NVML counts, by type (corrected, uncorrected) and counter "
                  "(volatile: since the last reset; aggregate: the GPU's life)",
                  {"counter", "gpu", "type"}),
              GaugeMeasurement("gpu_remapped_rows", "",
                               "memory rows remapped, by cause (correctable, uncorrectable)",
                               {"cause", "gpu"}),
              GaugeMeasurement("gpu_row_remap_pending", "",
                               "1 when a memory row remap waits for a GPU reset", {"gpu"}),
              GaugeMeasurement("gpu_row_remap_failure", "",
                               "1 when a memory row remap failed (the GPU needs replacing)",
                               {"gpu"}),
              GaugeMeasurement("gpu_retired_pages", "",
                               "memory pages retired (GPUs before Ampere), by cause (multiple_sbe, "
                               "dbe)",
                               {"cause", "gpu"}),
              GaugeMeasurement("gpu_retired_pages_pending", "",
                               "1 when retired memory pages wait for a GPU reset", {"gpu"}),
              GaugeMeasurement("gpu_pcie_link_generation", "",
                               "PCIe link generation: current, max (of the link), device_max (of "
                               "the GPU)",
                               {"gpu", "state"}),
              GaugeMeasurement("gpu_pcie_link_width", "",
                               "PCIe link width in lanes: current, max, device_max",
                               {"gpu", "state"}),
              GaugeMeasurement("gpu_nvlinks", "", "NVLink links of the GPU: present, active",
                               {"gpu", "state"}),
              GaugeMeasurement("gpu_temperature_celsius", "celsius", "GPU core temperature",
                               {"gpu"}),
              GaugeMeasurement("gpu_slowdown_temperature_celsius", "celsius",
                               "temperature at which the GPU slows its clocks down", {"gpu"}),
              GaugeMeasurement("gpu_clock_event_active", "",
                               "1 while this NVML clock event reason holds the GPU's clocks down",
                               {"gpu", "reason"}),
              GaugeMeasurement("gpu_performance_state", "",
                               "GPU performance state: 0 (P0, highest) to 15 (P15)", {"gpu"}),
              GaugeMeasurement("gpu_recovery_action", "",
                               "the recovery NVML asks for (nvmlDeviceGpuRecoveryAction_t): 0 "
                               "none, 1 gpu_reset, "
                               "2 node_reboot, 3 drain_p2p, 4 drain_and_reset",
                               {"gpu"}),
              GaugeMeasurement(
                  "gpu_fabric_state", "",
                  "the GPU's NVLink fabric registration state (nvmlGpuFabricState_t): 0 "
                  "not_supported, 1 not_started, 2 in_progress, 3 completed",
                  {"gpu"}),
              CounterMeasurement("gpu_pcie_replays_total", "",
                                 "PCIe replays of the GPU's link since the GPU's last reset "
                                 "(nvmlDeviceGetPcieReplayCounter)",
                                 {"gpu"}),
              CounterMeasurement("gpu_nvlink_errors_total", "",
                                 "NVLink data-link errors per link since the GPU's last reset, "
                                 "by kind (replay, recovery, crc_flit, crc_data; crc where only "
                                 "the field-values API answers)",
                                 {"gpu", "kind", "link"}),
              GaugeMeasurement("gpu_power_limit_watts", "watts",
                               "GPU power limits: enforced (in force now), requested, default "
                               "(what the GPU boots with), min and max settable",
                               {"gpu", "kind"}),
          },
      .subject = ProbeSubject::kGpu,
  };
  return kInfo;
}

std::unique_ptr<RoundMemory> GpuHealthProbe::NewRoundMemory() const {
  return std::make_unique<GpuCounterMemory>();
}

ProbeResult GpuHealthProbe::Run(const ProbeContext& context) const {
  std::optional<GpuHealthNvmlView> view;
  const bool expects_gpus = context.profile && context.profile->gpu.count.value_or(0) > 0;
  if (context.nvml != nullptr && (context.inventory.HasNvidiaSigns() || expects_gpus)) {
    auto outcome =
        context.nvml->Run<GpuHealthNvmlView>(context.deadline, [](platform::NvmlSession& session) {
          GpuHealthNvmlView v;
          v.startup = session.startup();
          if (!v.startup.ready()) return v;
          v.list = ListNvmlGpus(*session.library());
          for (const NvmlGpu& gpu : v.list.gpus) {
            if (!gpu.opened() || gpu.bus_id.empty()) continue;  // gpu_presence names these
            v.samples.push_back(SampleGpuHealth(*session.library(), gpu));
          }
          return v;
        });
    view.emplace(std::move(outcome.value));
    view->status = outcome.status;
    view->stuck_in = outcome.stuck_in;
  }
  return EvaluateGpuHealth(context.inventory, context.profile, view);
}

}  // namespace nodehealth
