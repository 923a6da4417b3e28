// Sorts kernel-log messages (after ParseKernelLogLine removed the prefix) into the kinds the agent
// counts and acts on. Pure; the XID and link parsers it builds on are fuzzed.
//
//   xid           an NVIDIA XID, or the XID-less "fallen off the bus" report (xid_event.h)
//   nvlink_error  NVLink errors reported by the GPU driver ("NVRM: ... NVLink: fatal error
//                 detected on link 5") and NVSwitch SXid lines ("nvidia-nvswitch3: SXid ...")
//   mlx5_error    ConnectX driver errors: firmware health ("health compromised", "Fatal error"),
//                 error CQEs, command failures with a syndrome
//   link_down / link_up   carrier lines of network interfaces, IPoIB and mlx5 netdevs among
//                 them (ib/link_events.h; ib_ports maps them to ports for ib_link_flapping)
//
// Thread safety: pure functions.
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "probes/kernel_log/xid_event.h"

namespace nodehealth {

enum class KernelEventKind { kXid, kNvlinkError, kMlx5Error, kLinkDown, kLinkUp };

inline constexpr std::array<KernelEventKind, 5> kAllKernelEventKinds = {
    KernelEventKind::kXid, KernelEventKind::kNvlinkError, KernelEventKind::kMlx5Error,
    KernelEventKind::kLinkDown, KernelEventKind::kLinkUp};

std::string_view ToString(KernelEventKind kind);  // the metric label: "xid", "nvlink_error", ...

struct KernelEvent {
  KernelEventKind kind = KernelEventKind::kXid;
  std::optional<XidEvent> xid;  // with kXid
};

// nullopt for messages of no interest (almost all of them).
std::optional<KernelEvent> ClassifyKernelMessage(std::string_view message);

}  // namespace nodehealth
