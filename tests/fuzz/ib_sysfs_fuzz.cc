// The InfiniBand sysfs values and kernel link lines (probes/ib_ports), and the RoCE GID choice.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "probes/ib_ports/ib_sysfs_values.h"
#include "probes/kernel_log/link_events.h"
#include "probes/rdma_loopback/rdma_provider.h"

namespace ib = nodehealth::ib;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto rate = ib::ParsePortRate(input)) {
    if (!(rate->gbps >= 0) || rate->width < 1 || rate->width > 12) std::abort();
  }
  if (auto state = ib::ParseIdAndName(input); state && (state->id < 0 || state->id > 255)) {
    std::abort();
  }
  ib::ParseCounter(input);
  ib::ParseLid(input);
  if (auto event = ib::ParseLinkEvent(input)) {
    if (event->interface.empty() && event->bus_id.empty()) std::abort();
    if (event->interface.size() > 15) std::abort();
  }
  // Bytes as a GID table: 18-byte records (index, port, 16 GID bytes); types from the index.
  std::vector<nodehealth::rdma::GidEntry> table;
  for (size_t at = 0; at + 18 <= size; at += 18) {
    nodehealth::rdma::GidEntry entry;
    entry.index = data[at];
    entry.port = data[at + 1] % 3;
    std::memcpy(entry.gid.data(), data + at + 2, 16);
    entry.type = static_cast<nodehealth::rdma::GidEntry::Type>(data[at] % 3);
    table.push_back(entry);
  }
  if (auto chosen = nodehealth::rdma::ChooseRoceV2Gid(table, 1)) {
    if (chosen->port != 1 || chosen->type != nodehealth::rdma::GidEntry::Type::kRoceV2) {
      std::abort();
    }
  }
  return 0;
}
