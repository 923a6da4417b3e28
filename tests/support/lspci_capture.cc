#include "tests/support/lspci_capture.h"

#include "probes/util/lines.h"

#include <array>
#include <charconv>
#include <utility>

namespace nodehealth::testing {
namespace {

// Class names lspci prints -> 24-bit class codes (pci.ids "C" section).
constexpr std::array<std::pair<std::string_view, uint32_t>, 22> kClasses = {{
    {"Host bridge", 0x060000},
    {"ISA bridge", 0x060100},
    {"PCI bridge", 0x060400},
    {"Bridge", 0x068000},
    {"VGA compatible controller", 0x030000},
    {"3D controller", 0x030200},
    {"Display controller", 0x038000},
    {"Ethernet controller", 0x020000},
    {"Infiniband controller", 0x020700},
    {"Network controller", 0x028000},
    {"Non-Volatile memory controller", 0x010802},
    {"SATA controller", 0x010601},
    {"Serial Attached SCSI controller", 0x010700},
    {"RAID bus controller", 0x010400},
    {"USB controller", 0x0c0330},
    {"SMBus", 0x0c0500},
    {"Serial bus controller", 0x0c8000},
    {"System peripheral", 0x088000},
    {"Generic system peripheral", 0x088000},
    {"RAM memory", 0x050000},
    {"Communication controller", 0x078000},
    {"Audio device", 0x040300},
}};

// Vendor names lspci prints -> PCI vendor ids (pci.ids).
constexpr std::array<std::pair<std::string_view, uint32_t>, 12> kVendors = {{
    {"NVIDIA Corporation", 0x10de},
    {"Mellanox Technologies", 0x15b3},
    {"Intel Corporation", 0x8086},
    {"Broadcom / LSI", 0x1000},
    {"Broadcom Inc. and subsidiaries", 0x14e4},
    {"Matrox Electronics Systems Ltd.", 0x102b},
    {"PLDA", 0x1556},
    {"Micron Technology Inc", 0x1344},
    {"Advanced Micro Devices, Inc. [AMD]", 0x1022},
    {"Samsung Electronics Co Ltd", 0x144d},
    {"ASPEED Technology, Inc.", 0x1a03},
    {"Red Hat, Inc.", 0x1af4},
}};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// "Speed 32GT/s (ok), Width x16 (ok)" / "Port #0, Speed 32GT/s, Width x16, ASPM L1"
void ParseLink(std::string_view text, std::string& speed, std::optional<int>& width) {
  if (const std::size_t at = text.find("Speed "); at != std::string_view::npos) {
    std::string_view rest = text.substr(at + 6);
    speed = SysfsLinkSpeed(rest.substr(0, rest.find_first_of(", ")));
  }
  if (const std::size_t at = text.find("Width x"); at != std::string_view::npos) {
    int w = 0;
    std::string_view rest = text.substr(at + 7);
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), w);
    if (ec == std::errc()) width = w;
  }
}

}  // namespace

std::string SysfsLinkSpeed(std::string_view s) {
  if (s.ends_with("GT/s")) s.remove_suffix(4);
  std::string number(s);
  if (number.find('.') == std::string::npos) number += ".0";
  return number + " GT/s PCIe";
}

std::vector<LspciDevice> ParseLspciVvv(std::string_view text) {
  std::vector<LspciDevice> devices;
  LspciDevice* current = nullptr;
  ForEachLine(text, [&](std::string_view line) {
    if (line.empty()) return;
    if (line[0] != '\t' && line[0] != ' ') {
      // "19:00.0 3D controller: NVIDIA Corporation Device 2330 (rev a1)"
      const std::size_t space = line.find(' ');
      const std::size_t colon = line.find(": ", space);
      if (space == std::string_view::npos || colon == std::string_view::npos) return;
      LspciDevice device;
      std::string_view address = line.substr(0, space);
      device.bus_id = (address.size() == 7 ? "0000:" : "") + std::string(address);
      std::string_view class_name = line.substr(space + 1, colon - space - 1);
      if (const std::size_t bracket = class_name.find(" ["); bracket != std::string_view::npos) {
        class_name = class_name.substr(0, bracket);
      }
      device.class_code = 0xff0000;  // "unassigned class" for names not in the table
      for (const auto& [name, code] : kClasses) {
        if (class_name == name) device.class_code = code;
      }
      std::string_view rest = line.substr(colon + 2);
      device.vendor = 0xfffe;  // a vendor the table does not know: certainly not NVIDIA
      for (const auto& [name, id] : kVendors) {
        if (rest.starts_with(name)) device.vendor = id;
      }
      if (const std::size_t at = rest.find(" Device "); at != std::string_view::npos) {
        std::string_view hex = rest.substr(at + 8, 4);
        std::from_chars(hex.data(), hex.data() + hex.size(), device.device, 16);
      }
      devices.push_back(std::move(device));
      current = &devices.back();
      return;
    }
    if (current == nullptr) return;
    std::string_view body = Trim(line);
    if (body.starts_with("NUMA node: ")) {
      int node = -1;
      std::string_view n = body.substr(11);
      std::from_chars(n.data(), n.data() + n.size(), node);
      current->numa_node = node;
    } else if (body.starts_with("LnkCap:")) {
      ParseLink(body, current->max_speed, current->max_width);
    } else if (body.starts_with("LnkSta:")) {
      ParseLink(body, current->current_speed, current->current_width);
    } else if (body.starts_with("Kernel driver in use: ")) {
      current->driver = std::string(body.substr(22));
    }
  });
  return devices;
}

}  // namespace nodehealth::testing
