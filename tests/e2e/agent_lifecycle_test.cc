// The agent's life cycle as systemd sees it: the notifications on $NOTIFY_SOCKET (READY=1 after
// the first passive round, WATCHDOG=1 while the scheduler makes progress, RELOADING=1 and READY=1
// around a SIGHUP, STOPPING=1 on SIGTERM), and SIGUSR1 running the active probes on demand.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "tests/e2e/agent_harness.h"

namespace nodehealth::testing {
namespace {

// A datagram socket in place of systemd's notification socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }
  // The next message, or "" after `timeout`.
  std::string Receive(std::chrono::milliseconds timeout) {
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  }
  // Messages until one starts with `prefix` (that one included), at most `timeout` in all.
  std::vector<std::string> Until(const std::string& prefix, std::chrono::milliseconds timeout) {
    std::vector<std::string> seen;
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      std::string message = Receive(std::max(left, 1ms));
      if (message.empty()) continue;
      seen.push_back(message);
      if (message.rfind(prefix, 0) == 0) break;
    }
    return seen;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool ok_ = false;
};

bool EndsWith(const std::vector<std::string>& messages, const std::string& prefix) {
  return !messages.empty() && messages.back().rfind(prefix, 0) == 0;
}

TEST(AgentLifecycleTest, NotifiesSystemdAndRunsActiveProbesOnSigusr1) {
  Node node("no-gpu.toml");
  AgentDirs dirs;
  NotifySocket notify(dirs.dir.path() + "/notify");
  ASSERT_TRUE(notify.ok()) << dirs.dir.path() << ": " << std::strerror(errno);
  // rdma_loopback only: on this node it skips at once (no RDMA device), which is all we need to
  // see that SIGUSR1 ran it.
  WriteFile(dirs.config(), "[probes]\nskip = [\"mpi_allreduce\"]\n");
  AgentProcess agent(
      node, dirs.state(), dirs.config(), {"--profile", "none", "--interval", "30"},
      {{"NOTIFY_SOCKET", dirs.dir.path() + "/notify"}, {"WATCHDOG_USEC", "1000000"}});
  ASSERT_TRUE(agent.ok()) << agent.error();

  const std::vector<std::string> start = notify.Until("READY=1", 15s);
  ASSERT_TRUE(EndsWith(start, "READY=1")) << agent.Tail();
  // READY=1 comes after the first round: /report has results at once.
  EXPECT_EQ(agent.Get("/report").status, 200);
  // --interval 30, exported for NodehealthAgentStale's threshold.
  EXPECT_EQ(Value(agent.Metrics(), "nodehealth_agent_round_interval_seconds"), 30.0);
  // WatchdogSec=1 s: pings every half period while the scheduler is healthy.
  const auto watchdog_start = Clock::now();
  int pings = 0;
  while (Clock::now() - watchdog_start < 2500ms) {
    pings += notify.Receive(500ms) == "WATCHDOG=1" ? 1 : 0;
  }
  EXPECT_GE(pings, 3);
  EXPECT_LE(pings, 7);

  agent.process().Signal(SIGUSR1);
  std::string text;
  EXPECT_TRUE(agent.WaitForMetrics(
      [](const std::vector<Series>& all) {
        return Value(all, "nodehealth_probe_success", {{"probe", "rdma_loopback"}}).has_value();
      },
      10s, &text))
      << LinesWith(text, "probe_success") << agent.Tail();
  EXPECT_EQ(Value(text, "nodehealth_probe_success", {{"probe", "mpi_allreduce"}}), std::nullopt);

  agent.process().Signal(SIGHUP);
  const std::vector<std::string> reload = notify.Until("READY=1", 5s);
  ASSERT_TRUE(EndsWith(reload, "READY=1"));
  EXPECT_NE(std::find(reload.begin(), reload.end(), "RELOADING=1"), reload.end());

  EXPECT_EQ(agent.Stop(), 0);
  const std::vector<std::string> stop = notify.Until("STOPPING=1", 2s);
  EXPECT_TRUE(EndsWith(stop, "STOPPING=1"));
  const json status = json::parse(ReadFile(dirs.state() + "/status.json"), nullptr, false);
  ASSERT_TRUE(status.is_object());
  EXPECT_EQ(status["schema"], "nodehealth-status/1");
  EXPECT_EQ(status["drain"]["recommended"], false);
}

// /proc says the process is gone (or a zombie nobody reaped yet: it runs no more).
bool Gone(const std::string& pid_file) {
  const std::string pid = ReadFile(pid_file);
  if (pid.empty()) return false;
  const std::string stat = ReadFile("/proc/" + std::to_string(std::stoi(pid)) + "/stat");
  const std::size_t paren = stat.rfind(')');
  return stat.empty() || (paren != std::string::npos && stat.substr(paren + 2, 1) == "Z");
}

// Issue 13 item 10: SIGTERM during an active round waited for the round (mpi_allreduce may run
// 300 s, past systemd's 90 s stop timeout). The agent ends the round's children with their
// process group, writes its state and exits within a few seconds.
TEST(AgentLifecycleTest, SigtermDuringAnActiveRoundEndsItsChildrenAndExitsAtOnce) {
  Node node("no-gpu.toml");
  AgentDirs dirs;
  // An mpirun that would run a minute, with a "rank" of its own in its process group.
  const std::string bin = dirs.dir.path() + "/bin";
  std::filesystem::create_directories(bin);
  WriteFile(bin + "/mpirun", "#!/bin/sh\necho $$ > " + bin + "/mpirun.pid\nsleep 60 &\necho $! > " +
                                 bin + "/rank.pid\nwait\n");
  std::filesystem::permissions(bin + "/mpirun", std::filesystem::perms::owner_all);
  WriteFile(dirs.config(), "[probes]\nskip = [\"rdma_loopback\"]\n");
  const char* path = std::getenv("PATH");
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", "none", "--interval", "30"},
                     {{"PATH", bin + ":" + (path ? path : "/usr/bin:/bin")}});
  ASSERT_TRUE(agent.ok()) << agent.error();
  ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();

  agent.process().Signal(SIGUSR1);
  const auto started_by = Clock::now() + 10s;
  while (Clock::now() < started_by && ReadFile(bin + "/rank.pid").empty()) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_FALSE(ReadFile(bin + "/rank.pid").empty()) << "mpirun did not start\n" << agent.Tail();
  std::this_thread::sleep_for(500ms);

  const auto stop_start = Clock::now();
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
  const double stop_seconds = SecondsSince(stop_start);
  std::cout << "[ stop     ] SIGTERM during an active round: " << stop_seconds << " s\n";
  EXPECT_LT(stop_seconds, 6.0) << agent.Tail();
  EXPECT_TRUE(Gone(bin + "/mpirun.pid")) << "mpirun outlived the agent";
  EXPECT_TRUE(Gone(bin + "/rank.pid")) << "the rank outlived the agent";
  // The abandoned round decided nothing: no mpi_allreduce result was recorded as a failure.
  const json status = json::parse(ReadFile(dirs.state() + "/status.json"), nullptr, false);
  ASSERT_TRUE(status.is_object());
  EXPECT_EQ(status["drain"]["recommended"], false) << status;
  for (const json& probe : status["probes"]) EXPECT_NE(probe["name"], "mpi_allreduce") << probe;
  EXPECT_LE(
      status["valid_until_unix_seconds"].get<double>(),
      status["updated_at_unix_seconds"].get<double>());  // a stopped agent vouches for nothing
}

}  // namespace
}  // namespace nodehealth::testing
