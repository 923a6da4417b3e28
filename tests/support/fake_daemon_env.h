// A DaemonEnv (agent/daemon/daemon_env.h) for tests: the node is a directory, the clocks stand
// still until the test moves them, the jitter is whatever the test says, and service-manager
// notifications and child stops are recorded instead of sent.
//
// Thread safety: every method may be called from any thread (the core's watch thread reads the
// clock while the test advances it).
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "agent/daemon/daemon_env.h"

namespace nodehealth::testing {

class FakeDaemonEnv final : public agent::DaemonEnv {
 public:
  // The wall clock starts at `unix_start` and moves with the steady clock.
  explicit FakeDaemonEnv(const std::string& sysroot, double unix_start = 1.8e9)
      : fs_(sysroot), unix_start_(unix_start) {}

  void Advance(std::chrono::steady_clock::duration d) {
    std::lock_guard lock(mutex_);
    elapsed_ += d;
  }
  void SetJitter(double jitter) {
    std::lock_guard lock(mutex_);
    jitter_ = jitter;
  }
  std::vector<std::string> notifications() const {
    std::lock_guard lock(mutex_);
    return notifications_;
  }
  // The steady time `d` after the start.
  SteadyTime At(std::chrono::steady_clock::duration d) const { return kSteadyStart + d; }

  const platform::FileSystem& fs() const override { return fs_; }
  std::string NodeName() const override { return "fake-node-1"; }
  std::string BootId() const override { return "11111111-2222-3333-4444-555555555555"; }
  long ProcessId() const override { return 4242; }
  SteadyTime SteadyNow() const override {
    std::lock_guard lock(mutex_);
    return kSteadyStart + elapsed_;
  }
  double UnixNow() const override {
    std::lock_guard lock(mutex_);
    return unix_start_ + std::chrono::duration<double>(elapsed_).count();
  }
  double Jitter() override {
    std::lock_guard lock(mutex_);
    return jitter_;
  }
  void Notify(std::string_view state) override {
    std::lock_guard lock(mutex_);
    notifications_.emplace_back(state);
  }
  int StopChildren(std::chrono::milliseconds) override { return 0; }

 private:
  // Far from the real steady clock's epoch, so that nothing mixes the two by accident.
  static constexpr SteadyTime kSteadyStart = SteadyTime(std::chrono::hours(24 * 365));
  platform::RootedFileSystem fs_;
  const double unix_start_;
  mutable std::mutex mutex_;
  std::chrono::steady_clock::duration elapsed_{0};
  double jitter_ = 0;
  std::vector<std::string> notifications_;
};

}  // namespace nodehealth::testing
