#include "probes/kernel_log/kernel_events.h"

#include <algorithm>
#include <cctype>

#include "probes/kernel_log/link_events.h"

namespace nodehealth {
namespace {

bool ContainsNoCase(std::string_view text, std::string_view word) {
  return std::search(text.begin(), text.end(), word.begin(), word.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         }) != text.end();
}

bool IsNvlinkError(std::string_view message) {
  // nvidia-nvswitch<N>: SXid (PCI:0000:86:00.0): 12028, Non-fatal, Link 32 ...
  if (message.starts_with("nvidia-nvswitch") && message.find("SXid") != std::string_view::npos) {
    return true;
  }
  if (message.find("NVRM") == std::string_view::npos || !ContainsNoCase(message, "nvlink")) {
    return false;
  }
  return ContainsNoCase(message, "error") || ContainsNoCase(message, "fatal") ||
         ContainsNoCase(message, "fail");
}

bool IsMlx5Error(std::string_view message) {
  if (!message.starts_with("mlx5_core") && !message.starts_with("mlx5_ib")) return false;
  for (std::string_view word : {"health compromised", "fatal", "syndrome", "error cqe",
                                "internal error", "fw error", "assert", "failed to", "timeout"}) {
    if (ContainsNoCase(message, word)) return true;
  }
  return false;
}

}  // namespace

std::string_view ToString(KernelEventKind kind) {
  switch (kind) {
    case KernelEventKind::kXid:
      return "xid";
    case KernelEventKind::kNvlinkError:
      return "nvlink_error";
    case KernelEventKind::kMlx5Error:
      return "mlx5_error";
    case KernelEventKind::kLinkDown:
      return "link_down";
    case KernelEventKind::kLinkUp:
      return "link_up";
  }
  return "unknown";
}

std::optional<KernelEvent> ClassifyKernelMessage(std::string_view message) {
  if (std::optional<XidEvent> xid = ParseXidMessage(message)) {
    return KernelEvent{KernelEventKind::kXid, std::move(xid)};
  }
  if (IsNvlinkError(message)) return KernelEvent{KernelEventKind::kNvlinkError, std::nullopt};
  if (std::optional<ib::LinkEvent> link = ib::ParseLinkEvent(message)) {
    return KernelEvent{link->down ? KernelEventKind::kLinkDown : KernelEventKind::kLinkUp,
                       std::nullopt};
  }
  if (IsMlx5Error(message)) return KernelEvent{KernelEventKind::kMlx5Error, std::nullopt};
  return std::nullopt;
}

}  // namespace nodehealth
