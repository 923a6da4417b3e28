// systemd's notification protocol (sd_notify(3)), without linking libsystemd: one datagram with
// "READY=1", "WATCHDOG=1", "STATUS=...", "RELOADING=1" or "STOPPING=1" to $NOTIFY_SOCKET (a path,
// or "@name" for the abstract namespace). Without $NOTIFY_SOCKET (not started by systemd, or
// Type=simple) every call is a no-op that returns false.
//
// Thread safety: reentrant; reads the environment only.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace nodehealth::agent {

// Sends `state` (newline-separated assignments). True when the datagram was sent.
bool SdNotify(std::string_view state);

// The watchdog period systemd expects (WatchdogSec=, passed as $WATCHDOG_USEC), when the watchdog
// is enabled for this process ($WATCHDOG_PID unset or equal to our pid); nullopt otherwise.
std::optional<std::chrono::microseconds> WatchdogPeriod();

}  // namespace nodehealth::agent
