// The agent's kernel-log watch: reads the kernel log from boot (so XIDs from before the agent
// started count), then follows it on its own thread. Every line goes into an XidTally (the same
// logic as the gpu_xid probe, so `check` and the agent report the same findings) and through
// ClassifyKernelMessage; each batch that held events is handed to `on_events` at once, which is
// what brings an XID to /metrics and to the drain decision within a second.
//
// Failure behaviour: an unreadable log, or something at /dev/kmsg that is no log (/dev/null,
// /dev/zero, a FIFO: platform::CheckKernelLogSource), is reported by View().error and retried
// every few seconds; a log that has held no line yet is not `following` either (a hidden log is
// no clean one); floods are read in bounded batches that each hand their events on; garbage lines
// are counted and ignored; sequence gaps and overwritten records are counted (View()), never
// fatal.
//
// Thread safety: Start/Stop from the owner's thread; View() from any thread; `on_events` runs on
// the watch thread and must not call Stop().
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/policy/drain_policy.h"
#include "probes/kernel_log/kernel_events.h"
#include "probes/kernel_log/xid_tally.h"
#include "probes/platform/file_system.h"
#include "probes/platform/kernel_log_follower.h"

namespace nodehealth::agent {

// A consistent copy of what the watch has seen, for a snapshot.
struct KernelLogView {
  bool following = false;  // the log is open and being followed
  std::string source;      // the host path
  std::string error;       // why it is not followed, when it is not
  XidTally tally;
  std::array<uint64_t, kAllKernelEventKinds.size()> events = {};  // by KernelEventKind
  platform::FollowStats stats;
  uint64_t batches = 0;  // batches read; increases whenever new lines arrived
};

class KernelLogWatch {
 public:
  using OnEvents = std::function<void(std::vector<XidEventRecord> new_xids)>;

  // `fs` must outlive the watch. `boot_id` tags the XID records (drain_policy.h).
  KernelLogWatch(const platform::FileSystem& fs, std::string boot_id, OnEvents on_events);
  ~KernelLogWatch();

  // Reads the backlog on the calling thread (the first round then sees it; at most 64 MiB or
  // 10 s), then follows on a new thread. Never fails: a log that cannot be opened is retried by
  // the thread.
  void Start();
  void Stop();

  KernelLogView View() const;

  // Adds a line that did not come from the log (an XID from an NVML event, while the log cannot
  // be read) to the tally and the event counts, as if it had.
  void InjectLine(std::string_view line);

 private:
  // Reads what is available, at most `max_bytes`; true when more is waiting.
  bool ReadBatch(platform::KernelLogFollower& follower, std::size_t max_bytes);
  static constexpr std::size_t kBatchBytes = 8u << 20;
  static constexpr uint64_t kBacklogBytes = 64u << 20;
  static constexpr std::chrono::seconds kBacklogTime{10};
  void Loop();
  bool TryOpen();

  const platform::FileSystem& fs_;
  const std::string boot_id_;
  OnEvents on_events_;
  std::unique_ptr<platform::KernelLogFollower> follower_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;  // guards view_
  KernelLogView view_;
};

}  // namespace nodehealth::agent
