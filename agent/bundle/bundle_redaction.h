// `bundle --redact`: replaces what identifies the node and its users across every file of a bundle
// with stable placeholders, one mapping for the whole bundle, so that "ip-2" in the kernel log is
// "ip-2" in the report too:
//   * the node's host names (short and FQDN, case-insensitive, whole names only) -> host-N
//   * IPv4 addresses (not 0.x, 127.x, 255.255.255.255) and IPv6 addresses (with at least two
//     groups; inet_pton decides) -> ip-N
//   * MAC addresses (6 groups, and the 20-byte IPoIB form) -> mac-N
//   * process ids and names in kernel-log lines (agent/daemon/report_redaction.h) -> <redacted>
// Serial numbers, UUIDs and PCI addresses are kept: support needs them.
//
// A JSON file is parsed first so that a process name is cut at the end of its string, never at
// the end of the (single) line; what does not parse is treated as text.
//
// Thread safety: none (the mapping grows as files are redacted); one Redactor per bundle.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "probes/util/expected.h"

namespace nodehealth::bundle {

class Redactor {
 public:
  // Names shorter than 3 characters and "localhost" are ignored (they would hit ordinary words).
  explicit Redactor(std::vector<std::string> host_names);

  std::string Text(std::string_view text);
  std::string Json(std::string_view text);
  // Json() for names ending in ".json"; for ".gz" the decompressed text, recompressed (an Error
  // when it is not gzip: such a file cannot be redacted and must be left out); Text() otherwise.
  Expected<std::string> File(std::string_view name, std::string_view content);

  // The placeholder of one host name (for the archive's own name), or the name when not known.
  std::string HostName(std::string_view name);

 private:
  std::string Placeholder(const char* kind, std::map<std::string, std::string>& table,
                          const std::string& key);
  std::string HostNames(std::string_view text);
  std::string Macs(std::string_view text);
  std::string Ipv6(std::string_view text);
  std::string Ipv4(std::string_view text);
  std::string Patterns(std::string_view text);

  std::vector<std::string> host_names_;  // lower case, longest first
  std::map<std::string, std::string> hosts_;
  std::map<std::string, std::string> ips_;
  std::map<std::string, std::string> macs_;
};

}  // namespace nodehealth::bundle
