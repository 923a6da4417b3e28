#include "probes/kernel_log/xid_catalog.h"

#include <array>

#include "probes/kernel_log/xid_event.h"

namespace nodehealth {
namespace {

constexpr XidCatalogEntry kXidCatalog[] = {
#include "probes/kernel_log/xid_catalog_data.inc"
};

}  // namespace

const XidCatalogEntry* FindXid(int xid) {
  for (const XidCatalogEntry& entry : kXidCatalog) {
    if (entry.xid == xid) return &entry;
  }
  return nullptr;
}

std::string_view ToString(XidBucket bucket) {
  switch (bucket) {
    case XidBucket::kUnclassified:
      return "unclassified";
    case XidBucket::kIgnore:
      return "IGNORE";
    case XidBucket::kRestartApp:
      return "RESTART_APP";
    case XidBucket::kResetGpu:
      return "RESET_GPU";
    case XidBucket::kRestartBareMetal:
      return "RESTART_BM";
    case XidBucket::kRestartVm:
      return "RESTART_VM";
    case XidBucket::kContactSupport:
      return "CONTACT_SUPPORT";
    case XidBucket::kCheckMechanicals:
      return "CHECK_MECHANICALS";
    case XidBucket::kUpdateSoftware:
      return "UPDATE_SWFW";
    case XidBucket::kCheckUvm:
      return "CHECK_UVM";
    case XidBucket::kWorkflowXid13:
      return "WORKFLOW_XID_13";
    case XidBucket::kWorkflowXid31:
      return "WORKFLOW_XID_31";
    case XidBucket::kWorkflowXid45:
      return "WORKFLOW_XID_45";
    case XidBucket::kWorkflowXid48:
      return "WORKFLOW_XID_48";
    case XidBucket::kWorkflowNvlink:
      return "WORKFLOW_NVLINK_ERR";
    case XidBucket::kWorkflowNvlink5:
      return "WORKFLOW_NVLINK5_ERR";
    case XidBucket::kFollowXid154:
      return "XID_154";
  }
  return "unclassified";
}

XidVerdict ClassifyXid(int xid, std::string_view detail, bool solo) {
  const XidCatalogEntry* entry = FindXid(xid);
  const XidBucket bucket = entry ? entry->immediate : XidBucket::kUnclassified;
  switch (bucket) {
    case XidBucket::kIgnore:
      return {Action::kNone, "no action required"};
    case XidBucket::kRestartApp:
    case XidBucket::kWorkflowXid13:
    case XidBucket::kWorkflowXid31:
      return {Action::kMonitor, "application fault: restart the application"};
    case XidBucket::kCheckUvm:
      return {Action::kMonitor, "reset the GPU only if UVM or vGPU is in use"};
    case XidBucket::kResetGpu:
      return {Action::kResetGpu, "reset the GPU"};
    case XidBucket::kWorkflowXid48:
      return {Action::kResetGpu, solo ? "double-bit ECC error: reset the GPU"
                                      : "double-bit ECC error with row remapping: drain and "
                                        "reset the GPU"};
    case XidBucket::kRestartBareMetal:
      return {Action::kReboot, "restart the node"};
    case XidBucket::kRestartVm:
      return {Action::kReboot, "restart the VM"};
    case XidBucket::kWorkflowNvlink:
      return {Action::kResetGpu, "NVLink error: decode the registers, reset the GPU"};
    case XidBucket::kWorkflowNvlink5:
      if (std::optional<bool> fatal = ParseNvlinkFatal(detail)) {
        return *fatal ? XidVerdict{Action::kResetGpu, "fatal NVLink error: reset the GPU"}
                      : XidVerdict{Action::kMonitor, "non-fatal NVLink error"};
      }
      return {Action::kDrain, "NVLink error of unknown severity: decode the subcode"};
    case XidBucket::kFollowXid154:
      if (std::optional<unsigned> target = ParseRecoveryActionChange(detail)) {
        switch (*target) {
          case 0:
            return {Action::kNone, "driver cleared its recovery action"};
          case 1:
            return {Action::kResetGpu, "driver asks for a GPU reset"};
          case 2:
            return {Action::kReboot, "driver asks for a node reboot"};
          case 3:
            return {Action::kDrain, "driver asks to drain peer-to-peer traffic"};
          case 4:
            return {Action::kResetGpu, "driver asks to drain and reset the GPU"};
          default:
            return {Action::kDrain, "driver asks for a recovery action unknown to nodehealth"};
        }
      }
      return {Action::kDrain, "recovery action changed, target not readable"};
    case XidBucket::kWorkflowXid45:
      return solo ? XidVerdict{Action::kDrain,
                               "preemptive cleanup with no other XID: restart "
                               "Fabric Manager"}
                  : XidVerdict{Action::kNone, "follows another XID on this GPU"};
    case XidBucket::kCheckMechanicals:
      return {Action::kDrain, "check seating and power connections"};
    case XidBucket::kUpdateSoftware:
      return {Action::kDrain, "update driver and firmware"};
    case XidBucket::kContactSupport:
      return {Action::kDrain, "not expected on this hardware: contact support"};
    case XidBucket::kUnclassified:
      break;
  }
  return {Action::kDrain, "an XID NVIDIA does not document: contact support"};
}

}  // namespace nodehealth
