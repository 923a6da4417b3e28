// XID events read from the kernel log, each stamped with the Unix time it happened, so that
// [drain.xid.<number>] windows measure when an XID occurred rather than when it was read. The
// agent's kernel-log watch stamps the records it follows; `slurm-healthcheck`'s fallback check,
// which has no agent history, reads this boot's log once with ReadKernelXidEvents.
//
// Time mapping: a kernel record carries microseconds since boot; with /proc/uptime read at `now`
// it happened at now - (uptime - since_boot). A record without a time (a `dmesg` text capture),
// or with a time past the uptime (clocks that disagree), is stamped `now`: counted as recent,
// which can only drain sooner, never hide a storm.
//
// Thread safety: pure functions, except the two that read the node (clock, log).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/policy/drain_policy.h"
#include "probes/platform/deadline.h"
#include "probes/platform/file_system.h"
#include "probes/util/expected.h"

namespace nodehealth::agent {

struct KernelClock {
  double now = 0;                // Unix time
  std::optional<double> uptime;  // seconds since boot at `now`; nullopt when unreadable
};

// Now, and the node's /proc/uptime (the fixture's under --sysroot).
KernelClock ReadKernelClock(const platform::FileSystem& fs);

// The Unix time of a record logged `monotonic_usec` after boot (see the mapping above).
double KernelRecordTime(std::optional<uint64_t> monotonic_usec, const KernelClock& clock);

// Every XID (and "fallen off the bus", as XID 79) in the kernel log from its first record, oldest
// first, with boot_id set and the kernel sequence number where the record has one. Reading stops
// at `deadline`; what was read by then is returned. An unreadable log is an Error.
Expected<std::vector<XidEventRecord>> ReadKernelXidEvents(const platform::FileSystem& fs,
                                                          const std::string& boot_id,
                                                          platform::Deadline deadline);

}  // namespace nodehealth::agent
