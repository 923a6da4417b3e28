#include "agent/daemon/kernel_log_watch.h"

#include <chrono>

#include "agent/policy/kernel_xid_events.h"
#include "probes/kernel_log/kernel_log_line.h"
#include "probes/platform/kernel_log_source.h"

namespace nodehealth::agent {

KernelLogWatch::KernelLogWatch(const platform::FileSystem& fs, std::string boot_id,
                               OnEvents on_events)
    : fs_(fs), boot_id_(std::move(boot_id)), on_events_(std::move(on_events)) {}

KernelLogWatch::~KernelLogWatch() { Stop(); }

bool KernelLogWatch::TryOpen() {
  Expected<std::unique_ptr<platform::KernelLogFollower>> opened =
      platform::KernelLogFollower::Open(fs_);
  std::lock_guard lock(mutex_);
  view_.source = fs_.HostPath("/dev/kmsg");
  if (!opened) {
    view_.following = false;
    view_.error = opened.error().message;
    return false;
  }
  follower_ = std::move(*opened);
  view_.following = true;
  view_.error.clear();
  return true;
}

bool KernelLogWatch::ReadBatch(platform::KernelLogFollower& follower, std::size_t max_bytes) {
  // Records carry their time since boot; mapped to wall time so that XID windows measure when the
  // XID happened, not when the agent (re)started and read it.
  // Read once per batch, and only when lines came: an idle agent wakes once a second for nothing
  // else.
  KernelClock clock;
  bool clock_read = false;
  std::vector<XidEventRecord> new_xids;
  std::array<uint64_t, kAllKernelEventKinds.size()> events = {};
  bool any_event = false;
  std::vector<std::string> lines;
  Expected<bool> more = true;
  // At most max_bytes per call, so that a source that never ends (a file appended without pause)
  // still hands its events on and lets the owner stop the watch.
  const uint64_t bytes_before = follower.stats().bytes;
  while (more && *more && !stopping_ && follower.stats().bytes - bytes_before < max_bytes) {
    lines.clear();
    more = follower.ReadAvailable([&](std::string_view line) { lines.emplace_back(line); });
    if (lines.empty()) continue;
    if (!clock_read) {
      clock_read = true;
      clock = ReadKernelClock(fs_);
    }
    std::lock_guard lock(mutex_);
    for (const std::string& line : lines) {
      view_.tally.AddLine(line);
      const KernelLogLine parsed = ParseKernelLogLine(line);
      if (parsed.continuation) continue;
      const std::optional<KernelEvent> event = ClassifyKernelMessage(parsed.message);
      if (!event) continue;
      any_event = true;
      ++events[static_cast<std::size_t>(event->kind)];
      if (!event->xid) continue;
      XidEventRecord record;
      record.boot_id = boot_id_;
      record.sequence = parsed.sequence.value_or(0);
      record.bus_id = event->xid->bus_id;
      record.xid = event->xid->xid;
      record.time = KernelRecordTime(parsed.monotonic_usec, clock);
      new_xids.push_back(std::move(record));
    }
    for (std::size_t i = 0; i < events.size(); ++i) view_.events[i] += events[i];
    events = {};
    view_.stats = follower.stats();
    ++view_.batches;
  }
  bool left = false;
  {
    std::lock_guard lock(mutex_);
    if (!more) {
      view_.following = false;
      view_.error = more.error().message;
      follower_.reset();  // `follower` dangles from here: nothing below uses it
    } else {
      left = *more;
      // A log that is open but has never held a line is a hidden one, not a clean one: followed
      // (records may still come), but not "up" until they do.
      const bool empty = follower.stats().lines == 0;
      view_.following = !empty;
      view_.error = empty ? platform::EmptyKernelLogMessage(follower.path()) : "";
    }
  }
  if (any_event && on_events_) on_events_(std::move(new_xids));
  return left;
}

void KernelLogWatch::Start() {
  // The backlog on the calling thread, so the first round sees it; bounded, so that no source can
  // hold the start (the real ring buffer is at most 32 MiB: CONFIG_LOG_BUF_SHIFT <= 25). The
  // thread carries on from wherever this stops.
  if (TryOpen()) {
    const auto deadline = std::chrono::steady_clock::now() + kBacklogTime;
    uint64_t read = 0;
    while (follower_ && !stopping_ && read < kBacklogBytes &&
           std::chrono::steady_clock::now() < deadline) {
      const uint64_t before = follower_->stats().bytes;
      if (!ReadBatch(*follower_, kBatchBytes)) break;
      read += follower_ ? follower_->stats().bytes - before : 0;
    }
  }
  thread_ = std::thread([this] { Loop(); });
}

void KernelLogWatch::Loop() {
  bool more = true;  // data may be waiting: read before waiting
  while (!stopping_) {
    if (!follower_) {
      // Unreadable now (permissions, a missing file under --sysroot): try again a little later.
      for (int i = 0; i < 50 && !stopping_; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!stopping_ && TryOpen()) more = ReadBatch(*follower_, kBatchBytes);
      continue;
    }
    // The timeout bounds how late a replaced file is noticed; appends wake the wait at once.
    if (!more) follower_->Wait(std::chrono::milliseconds(1000));
    if (!stopping_) more = ReadBatch(*follower_, kBatchBytes);
  }
}

void KernelLogWatch::Stop() {
  stopping_ = true;
  {
    std::lock_guard lock(mutex_);  // the watch thread replaces follower_ under this lock
    if (follower_) follower_->Wake();
  }
  if (thread_.joinable()) thread_.join();
}

void KernelLogWatch::InjectLine(std::string_view line) {
  std::lock_guard lock(mutex_);
  view_.tally.AddLine(line);
  const KernelLogLine parsed = ParseKernelLogLine(line);
  if (std::optional<KernelEvent> event = ClassifyKernelMessage(parsed.message)) {
    ++view_.events[static_cast<std::size_t>(event->kind)];
  }
  ++view_.batches;
}

KernelLogView KernelLogWatch::View() const {
  std::lock_guard lock(mutex_);
  return view_;
}

}  // namespace nodehealth::agent
