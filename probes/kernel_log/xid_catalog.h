// NVIDIA's XID catalogue as data (probes/kernel_log/xid_catalog_data.inc, generated from the
// spreadsheet by tools/gen_xid_catalog.py), and the mapping from its resolution buckets to
// nodehealth actions.
//
// Bucket -> action (the "immediate action" column; our reading of NVIDIA's bucket definitions,
// sheet "Resolution Buckets"):
//   IGNORE -> none; RESTART_APP, CHECK_UVM, WORKFLOW_XID_13/31 -> monitor (application faults do
//   not drain; repeats are the agent's business); RESET_GPU, WORKFLOW_XID_48 (solo: reset; with
//   63/64: drain and reset) -> reset_gpu; RESTART_BM, RESTART_VM -> reboot; WORKFLOW_NVLINK_ERR
//   (XID 74) -> reset_gpu; WORKFLOW_NVLINK5_ERR (144-150) -> by the message's Fatal/Nonfatal word;
//   XID_154 -> the recovery action the message names; WORKFLOW_XID_45 -> none with other XIDs on
//   the GPU, drain (restart Fabric Manager) when alone; CONTACT_SUPPORT, CHECK_MECHANICALS,
//   UPDATE_SWFW and XIDs the catalogue does not classify -> drain.
#pragma once

#include <optional>
#include <string_view>

#include "probes/action.h"

namespace nodehealth {

enum class XidBucket {
  kUnclassified,
  kIgnore,
  kRestartApp,
  kResetGpu,
  kRestartBareMetal,
  kRestartVm,
  kContactSupport,
  kCheckMechanicals,
  kUpdateSoftware,
  kCheckUvm,
  kWorkflowXid13,
  kWorkflowXid31,
  kWorkflowXid45,
  kWorkflowXid48,
  kWorkflowNvlink,
  kWorkflowNvlink5,
  kFollowXid154,
};

struct XidCatalogEntry {
  int xid;
  std::string_view mnemonic;
  bool applies_a100;
  bool applies_h100;
  XidBucket immediate;
  std::string_view investigatory;  // NVIDIA's follow-up bucket text, may be empty
};

// The catalogue entry for `xid`, or nullptr for an XID newer than the catalogue.
const XidCatalogEntry* FindXid(int xid);

std::string_view ToString(XidBucket bucket);  // NVIDIA's bucket name, "RESET_GPU"

// What an XID asks for. `detail` is the message text after the XID header (XID 154 and 144-150
// carry their own action); `solo` is false when other XIDs were seen on the same GPU.
struct XidVerdict {
  Action action;
  std::string_view reason;  // why, in a few words, for the finding message
};
XidVerdict ClassifyXid(int xid, std::string_view detail, bool solo);

}  // namespace nodehealth
