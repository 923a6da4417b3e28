#include "agent/daemon/nvml_xid_events.h"

namespace nodehealth::agent {
namespace {

namespace nvml = platform::nvml;

struct Registration {
  nvml::EventSet set = nullptr;
  std::map<nvml::Device, std::string> bus_ids;
  std::string status;
};

}  // namespace

bool NvmlXidEvents::Register(platform::Deadline deadline) {
  if (registered()) return true;
  platform::NvmlOutcome<Registration> outcome =
      nvml_->Run<Registration>(deadline, [](platform::NvmlSession& session) {
        Registration r;
        platform::NvmlLibrary* lib = session.library();
        if (lib == nullptr || !session.startup().ready()) {
          r.status = "NVML is not available";
          return r;
        }
        nvml::EventSet set = nullptr;
        if (nvml::Return e = lib->EventSetCreate(&set); e != nvml::kSuccess) {
          r.status = e == nvml::kErrorFunctionNotFound
                         ? "not offered by this driver"
                         : "nvmlEventSetCreate: " + lib->ErrorString(e);
          return r;
        }
        unsigned count = 0;
        lib->DeviceGetCount(&count);
        std::string skipped;
        for (unsigned i = 0; i < count; ++i) {
          nvml::Device device = nullptr;
          std::string bus_id;
          uint32_t pci_id = 0;
          if (lib->DeviceGetHandleByIndex(i, &device) != nvml::kSuccess ||
              lib->DeviceGetPciBusId(device, &bus_id, &pci_id) != nvml::kSuccess) {
            continue;
          }
          // Not every GPU supports XID events (NVML_ERROR_NOT_SUPPORTED on some boards).
          if (nvml::Return e =
                  lib->DeviceRegisterEvents(device, nvml::kEventTypeXidCriticalError, set);
              e != nvml::kSuccess) {
            skipped += " " + bus_id + " (" + lib->ErrorString(e) + ")";
            continue;
          }
          r.bus_ids[device] = bus_id;
        }
        if (r.bus_ids.empty()) {
          lib->EventSetFree(set);
          r.status = "no GPU accepted XID event registration" + skipped;
          return r;
        }
        r.set = set;
        r.status = std::to_string(r.bus_ids.size()) + " GPUs registered";
        if (!skipped.empty()) r.status += "; not:" + skipped;
        return r;
      });
  if (outcome.status != platform::NvmlCallStatus::kOk) {
    status_ = "NVML did not answer: " + outcome.stuck_in;
    return false;
  }
  set_ = outcome.value.set;
  bus_ids_ = std::move(outcome.value.bus_ids);
  status_ = std::move(outcome.value.status);
  return registered();
}

std::vector<NvmlXidEvent> NvmlXidEvents::Poll(platform::Deadline deadline) {
  if (!registered()) return {};
  const nvml::EventSet set = set_;
  const std::map<nvml::Device, std::string> bus_ids = bus_ids_;
  platform::NvmlOutcome<std::vector<NvmlXidEvent>> outcome = nvml_->Run<std::vector<NvmlXidEvent>>(
      deadline, [set, bus_ids](platform::NvmlSession& session) {
        std::vector<NvmlXidEvent> events;
        platform::NvmlLibrary* lib = session.library();
        if (lib == nullptr) return events;
        for (int i = 0; i < 256; ++i) {
          nvml::EventData data = {};
          if (lib->EventSetWait(set, &data, 0) != nvml::kSuccess) break;
          if ((data.event_type & nvml::kEventTypeXidCriticalError) == 0) continue;
          const auto it = bus_ids.find(data.device);
          events.push_back({it == bus_ids.end() ? std::string() : it->second,
                            static_cast<int>(data.event_data)});
        }
        return events;
      });
  if (outcome.status != platform::NvmlCallStatus::kOk) return {};
  return std::move(outcome.value);
}

NvmlXidEvents::~NvmlXidEvents() {
  if (set_ == nullptr || nvml_->wedged()) return;
  const nvml::EventSet set = set_;
  nvml_->Run<int>(platform::Deadline::In(std::chrono::seconds(1)),
                  [set](platform::NvmlSession& session) {
                    if (session.library()) session.library()->EventSetFree(set);
                    return 0;
                  });
}

}  // namespace nodehealth::agent
