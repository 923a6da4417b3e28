#include "probes/rdma_loopback/rdma_provider.h"

#include <algorithm>

namespace nodehealth::rdma {
namespace {

bool IsZero(const std::array<uint8_t, 16>& gid) {
  return std::all_of(gid.begin(), gid.end(), [](uint8_t b) { return b == 0; });
}

bool IsIpv4Mapped(const std::array<uint8_t, 16>& gid) {
  for (int i = 0; i < 10; ++i) {
    if (gid[i] != 0) return false;
  }
  return gid[10] == 0xff && gid[11] == 0xff;
}

bool IsIpv6LinkLocal(const std::array<uint8_t, 16>& gid) {
  return gid[0] == 0xfe && (gid[1] & 0xc0) == 0x80;
}

}  // namespace

std::optional<GidEntry> ChooseRoceV2Gid(const std::vector<GidEntry>& table, int port) {
  std::optional<GidEntry> best;
  int best_rank = 0;
  for (const GidEntry& entry : table) {
    if (entry.port != port || entry.type != GidEntry::Type::kRoceV2 || IsZero(entry.gid)) continue;
    // IPv4-mapped first, then global IPv6, then link-local IPv6; lowest index breaks ties.
    const int rank = IsIpv4Mapped(entry.gid) ? 3 : IsIpv6LinkLocal(entry.gid) ? 1 : 2;
    if (!best || rank > best_rank || (rank == best_rank && entry.index < best->index)) {
      best = entry;
      best_rank = rank;
    }
  }
  return best;
}

}  // namespace nodehealth::rdma
