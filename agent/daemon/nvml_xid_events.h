// XID events from NVML (nvmlEventTypeXidCriticalError), where the driver offers them: the second
// source of XIDs besides the kernel log, for nodes where the agent cannot read /dev/kmsg (no
// CAP_SYSLOG, a container) and to cross-check it. Every GPU NVML can open is registered; a poll
// drains what the driver queued, without waiting (timeout 0), on the NVML thread, so a hung driver
// costs a poll its deadline, never the agent.
//
// Thread safety: one owner thread calls Register and Poll.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "probes/platform/deadline.h"
#include "probes/platform/nvml_runtime.h"

namespace nodehealth::agent {

struct NvmlXidEvent {
  std::string bus_id;  // "0000:19:00.0"
  int xid = 0;         // 999: NVML's "unknown XID"
};

class NvmlXidEvents {
 public:
  explicit NvmlXidEvents(std::shared_ptr<platform::NvmlRuntime> nvml) : nvml_(std::move(nvml)) {}
  ~NvmlXidEvents();  // frees the event set when NVML still answers

  // Creates the event set and registers every GPU. True once at least one GPU is registered;
  // status() says what happened (e.g. "not offered by this driver").
  bool Register(platform::Deadline deadline);
  bool registered() const { return set_ != nullptr && !bus_ids_.empty(); }

  // Events queued since the last poll (at most 256 per call).
  std::vector<NvmlXidEvent> Poll(platform::Deadline deadline);

  const std::string& status() const { return status_; }

 private:
  std::shared_ptr<platform::NvmlRuntime> nvml_;
  platform::nvml::EventSet set_ = nullptr;
  std::map<platform::nvml::Device, std::string> bus_ids_;
  std::string status_ = "not registered yet";
};

}  // namespace nodehealth::agent
