#include "agent/daemon/daemon_env.h"

#include <unistd.h>

#include <mutex>
#include <random>

#include "agent/daemon/sd_notify.h"
#include "agent/policy/report_support.h"
#include "probes/platform/child_process.h"

namespace nodehealth::agent {
namespace {

class RealDaemonEnv final : public DaemonEnv {
 public:
  explicit RealDaemonEnv(const std::string& sysroot)
      : fs_(sysroot), random_(std::random_device{}()) {}

  const platform::FileSystem& fs() const override { return fs_; }
  std::string NodeName() const override { return nodehealth::NodeName(fs_); }
  std::string BootId() const override { return nodehealth::BootId(fs_); }
  long ProcessId() const override { return static_cast<long>(::getpid()); }
  SteadyTime SteadyNow() const override { return std::chrono::steady_clock::now(); }
  double UnixNow() const override { return nodehealth::UnixNow(); }
  double Jitter() override {
    std::lock_guard lock(random_mutex_);
    return std::uniform_real_distribution<double>(-1.0, 1.0)(random_);
  }
  void Notify(std::string_view state) override { SdNotify(state); }
  int StopChildren(std::chrono::milliseconds grace) override {
    return platform::TerminateAllChildren(grace);
  }

 private:
  platform::RootedFileSystem fs_;
  std::mutex random_mutex_;
  std::mt19937_64 random_;
};

}  // namespace

std::unique_ptr<DaemonEnv> NewRealDaemonEnv(const std::string& sysroot) {
  return std::make_unique<RealDaemonEnv>(sysroot);
}

}  // namespace nodehealth::agent
