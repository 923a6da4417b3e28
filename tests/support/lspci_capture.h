// Reads `lspci -vvv` output (the HGX H100 capture in ../shared/fixtures/peer/gpud/pkg/pci) into
// the attributes sysfs would show for each function, so fixture nodes get a real PCI layout:
// vendor and class from the names lspci printed, the device id from "Device XXXX", NUMA node,
// LnkCap (maximum) and LnkSta (current) speed and width, and the bound driver.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodehealth::testing {

struct LspciDevice {
  std::string bus_id;  // "0000:19:00.0"
  uint32_t vendor = 0;
  uint32_t device = 0;
  uint32_t class_code = 0;
  std::optional<int> numa_node;
  std::string max_speed;  // sysfs form: "32.0 GT/s PCIe"
  std::optional<int> max_width;
  std::string current_speed;
  std::optional<int> current_width;
  std::string driver;
};

std::vector<LspciDevice> ParseLspciVvv(std::string_view text);

// "32GT/s" -> "32.0 GT/s PCIe" (the form sysfs prints since Linux 4.19).
std::string SysfsLinkSpeed(std::string_view lspci_speed);

}  // namespace nodehealth::testing
