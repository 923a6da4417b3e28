// Link up/down lines in the kernel log (and in syslog captures of it), and the window logic that
// turns them, or increases of the link_downed counter, into "this port is flapping".
//
// Line forms recognised (message part, after ParseKernelLogLine removed the prefix):
//   "<if>: lost carrier" / "<if>: Gained carrier"        systemd-networkd (Azure NHC counts these;
//                                                        ../shared/fixtures/peer/azurehpc-health-checks
//                                                        test/data/1dev_6flap_syslog)
//   "mlx5_core 0000:18:00.0 <if>: Link down" / "Link up" the mlx5 netdev carrier messages
//   "IPv6: ADDRCONF(NETDEV_CHANGE): <if>: link becomes ready"  the kernel's link-up line
//
// Thread safety: pure functions and a value type.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodehealth::ib {

struct LinkEvent {
  bool down = false;
  std::string interface;  // "ib0"; may be empty when only the PCI function is named
  std::string bus_id;     // "0000:18:00.0" when the line names the PCI function
};

// nullopt for any line that is not a link up/down line. Never fails on garbage.
std::optional<LinkEvent> ParseLinkEvent(std::string_view message);

// Samples of a monotonically increasing counter (link_downed) per port, for the agent: how much it
// grew inside a window. A decrease means the counter was reset (driver reload, HCA reset): the
// history restarts from the new value.
class CounterWindow {
 public:
  explicit CounterWindow(double window_seconds) : window_seconds_(window_seconds) {}

  void Add(const std::string& key, double time_seconds, uint64_t value);
  // Growth of the counter of `key` between the oldest sample inside the window ending at the
  // latest sample and that latest sample. 0 with fewer than two samples.
  uint64_t Increase(const std::string& key) const;
  // Time of the oldest sample kept for `key` (the start of what Increase covers); nullopt without
  // samples.
  std::optional<double> OldestTime(const std::string& key) const;

  // The samples as text, one "key time value" line each (keys hold no whitespace), at most
  // kMaxSerializedSamples per key, newest kept.
  std::string Serialize() const;
  // Adds the samples of Serialize's text; malformed lines, keys with whitespace and samples out of
  // time order are skipped. Returns how many samples were taken.
  std::size_t Restore(std::string_view text);
  static constexpr std::size_t kMaxSerializedSamples = 512;

 private:
  struct Sample {
    double time;
    uint64_t value;
  };
  double window_seconds_;
  std::map<std::string, std::vector<Sample>> samples_;
};

}  // namespace nodehealth::ib
