#include "agent/kernel_log_watch.h"

#include <chrono>

#include "agent/kernel_xid_events.h"
#include "probes/gpu_xid/kernel_log_line.h"

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

void KernelLogWatch::ReadBatch(platform::KernelLogFollower& follower) {
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
  while (more && *more && !stopping_) {
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
  if (!more) {
    std::lock_guard lock(mutex_);
    view_.following = false;
    view_.error = more.error().message;
    follower_.reset();  // `follower` dangles from here: nothing below uses it
  }
  if (any_event && on_events_) on_events_(std::move(new_xids));
}

void KernelLogWatch::Start() {
  if (TryOpen()) ReadBatch(*follower_);
  thread_ = std::thread([this] { Loop(); });
}

void KernelLogWatch::Loop() {
  while (!stopping_) {
    if (!follower_) {
      // Unreadable now (permissions, a missing file under --sysroot): try again a little later.
      for (int i = 0; i < 50 && !stopping_; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!stopping_ && TryOpen()) ReadBatch(*follower_);
      continue;
    }
    // The timeout bounds how late a replaced file is noticed; appends wake the wait at once.
    follower_->Wait(std::chrono::milliseconds(1000));
    if (!stopping_) ReadBatch(*follower_);
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
