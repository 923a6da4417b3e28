// Parses one kernel-log line in any of the forms nodehealth meets, so the same XID logic works on
// /dev/kmsg and on logs captured by other tools (the forms are those in
// ../shared/fixtures/peer/gpud, README.md section 3):
//   raw /dev/kmsg record   "6,3973,227996636,-;message" (extra comma fields before ';' allowed)
//   kmsg continuation      " SUBSYSTEM=pci" (dictionary lines of the previous record)
//   dmesg                  "[  123.456789] message"
//   dmesg -T               "[Sun Feb 23 16:24:18 2025] message"
//   dmesg --time-format iso "2024-11-15T12:02:03,470068+00:00 message"
//   dmesg --decode          "kern  :warn  : <any of the above> message"
//   journalctl -k -o short-iso "2025-01-02T15:20:12+0800 host kernel: message"
//   syslog / kern.log       "Nov 15 12:02:03 host kernel: [  123.456] message"
// Anything else is taken as a bare message. Never fails and never allocates: the result views
// into `line`.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace nodehealth {

struct KernelLogLine {
  std::optional<uint64_t> sequence;        // kmsg sequence number
  std::optional<uint64_t> monotonic_usec;  // kmsg timestamp or dmesg "[seconds]"
  std::string_view wall_time;              // as printed by dmesg -T / iso / journalctl
  int level = -1;                          // syslog level 0 (emerg) .. 7 (debug), -1 unknown
  std::string_view message;
  bool continuation = false;  // a kmsg dictionary line: not a message
};

KernelLogLine ParseKernelLogLine(std::string_view line);

}  // namespace nodehealth
