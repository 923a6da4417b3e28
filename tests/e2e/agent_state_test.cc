// The agent's state across restarts, kills, XID storms and a full disk (issue 13 items 1, 3, 11,
// 12): the real `nodehealth agent` on fixture nodes, stopped, killed and started again on the same
// state directory.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <thread>

#include <gmock/gmock.h>

#include "tests/e2e/agent_harness.h"
#include "tests/support/run_command.h"

namespace nodehealth::testing {
namespace {

json ReadJsonFile(const std::string& path) {
  return json::parse(ReadFile(path), nullptr, /*allow_exceptions=*/false);
}

// A kmsg record that is neither an XID nor anything the agent classifies: a new batch of lines.
std::string PlainRecord(uint64_t seq, uint64_t usec) {
  return "6," + std::to_string(seq) + "," + std::to_string(usec) +
         ",-;EXT4-fs (nvme0n1p1): mounted filesystem with ordered data mode\n";
}

// /proc/<pid>/io's wchar: bytes the process handed to write(2) and friends.
uint64_t BytesWritten(pid_t pid) {
  std::ifstream io("/proc/" + std::to_string(pid) + "/io");
  std::string key;
  uint64_t value = 0;
  while (io >> key >> value) {
    if (key == "wchar:") return value;
  }
  return 0;
}

int Rounds(const std::string& metrics) {
  return static_cast<int>(Value(metrics, "nodehealth_agent_rounds_total").value_or(-1));
}

// Item 1(a): a sticky XID 79 held after a restart although the ring buffer no longer has the line,
// however many kernel-log batches and rounds come after (it was released at the first new batch:
// a "new run" of gpu_xid that no longer saw the line).
TEST(AgentStateTest, StickyXidHeldAfterRestartWhenTheLogWrapped) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  const std::string gpu = node.NvidiaGpus().at(0);
  {
    AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile});
    ASSERT_TRUE(agent.ok()) << agent.error();
    ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();
    ASSERT_GE(AppendXid79AndMeasure(node, agent, gpu).to_drain, 0) << agent.Tail();
    EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
  }
  WriteFile(node.kmsg(), node.original_kmsg());  // wrapped: the XID line is gone
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile});
  ASSERT_TRUE(agent.ok()) << agent.error();
  ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();
  auto [seq, usec] = node.LastKmsgRecord();
  for (int i = 1; i <= 3; ++i) {
    AppendToFile(node.kmsg(), PlainRecord(seq + i, usec + 1000000 * i));
    std::this_thread::sleep_for(300ms);
  }
  const int rounds_then = Rounds(agent.Metrics());
  std::string text;
  ASSERT_TRUE(agent.WaitForMetrics(
      [&](const std::vector<Series>& all) {
        return Value(all, "nodehealth_agent_rounds_total").value_or(0) >= rounds_then + 3;
      },
      15s, &text))
      << agent.Tail();
  const json report = agent.WaitForReport(5s);
  EXPECT_EQ(report["drain"]["recommended"], true) << report["drain"];
  const json* reason = FindReason(report["drain"], "gpu_xid", "gpu/" + gpu);
  ASSERT_NE(reason, nullptr) << report["drain"];
  EXPECT_EQ((*reason)["action"], "reboot");
  EXPECT_EQ(Value(text, "nodehealth_drain_recommended"), 1.0);
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
  const json status = ReadJsonFile(dirs.state() + "/status.json");
  EXPECT_NE(FindReason(status["drain"], "gpu_xid", "gpu/" + gpu), nullptr) << status;
}

// Item 1(b): a sticky gpu_lost is released by the first passing gpu_presence run of a restarted
// agent. (A restarted agent numbered its runs from 1 again: when the stored fault's run was 1 too,
// the passing run looked like the same run and the drain stayed.)
TEST(AgentStateTest, GpuLostReleasedByTheFirstPassingRoundAfterRestart) {
  Node lost("fault-gpu-lost.toml");
  // The lost GPU without its kernel-log line: only NVML says it (an XID would hold until reboot).
  std::string kmsg;
  std::istringstream lines(lost.original_kmsg());
  for (std::string line; std::getline(lines, line);) {
    if (line.find("0000:9b:00.0") == std::string::npos) kmsg += line + "\n";
  }
  WriteFile(lost.kmsg(), kmsg);
  Node healthy("hgx-h100-xe9680.toml");
  AgentDirs dirs;
  {
    // One round only: the fault's stored run is the first one.
    AgentProcess agent(lost, dirs.state(), dirs.config(), {"--interval", "3600"});
    ASSERT_TRUE(agent.ok()) << agent.error();
    const json report = agent.WaitForReport(15s);
    ASSERT_NE(FindReason(report["drain"], "gpu_lost", "gpu/0000:9b:00.0"), nullptr)
        << report["drain"];
    EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
  }
  const json state = ReadJsonFile(dirs.state() + "/state.json");
  ASSERT_EQ(state["sticky"].size(), 1u) << state;
  EXPECT_EQ(state["sticky"][0]["code"], "gpu_lost");

  AgentProcess agent(healthy, dirs.state(), dirs.config(), {"--interval", "3600"});
  ASSERT_TRUE(agent.ok()) << agent.error();
  const json report = agent.WaitForReport(15s);  // after the first round
  ASSERT_TRUE(report.is_object()) << agent.Tail();
  EXPECT_EQ(report["drain"]["recommended"], false) << report["drain"];
  EXPECT_EQ(FindReason(report["drain"], "gpu_lost", "gpu/0000:9b:00.0"), nullptr);
  EXPECT_TRUE(report["policy"]["sticky"].empty()) << report["policy"];
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
  const json after = ReadJsonFile(dirs.state() + "/state.json");
  EXPECT_TRUE(after["sticky"].empty()) << after;
  EXPECT_GT(after["last_run_id"].get<uint64_t>(), state["last_run_id"].get<uint64_t>());
}

// Item 3: a recorded node (--sysroot) keeps its state below itself, never in the live node's
// directory, where slurm-healthcheck would read it and drain this machine.
TEST(AgentStateTest, RecordedNodeNeverSharesTheLiveNodesState) {
  Node node("fault-gpu-lost.toml");
  AgentDirs dirs;
  const std::string live_status = "/var/lib/nodehealth/status.json";
  struct stat before {};
  const bool live_existed = ::stat(live_status.c_str(), &before) == 0;
  {
    AgentProcess agent(node, /*state_dir=*/"", dirs.config(), {"--interval", "3600"});
    ASSERT_TRUE(agent.ok()) << agent.error();
    const json report = agent.WaitForReport(15s);
    ASSERT_EQ(report["drain"]["recommended"], true) << agent.Tail();
    EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
  }
  const json status = ReadJsonFile(node.root() + "/var/lib/nodehealth/status.json");
  EXPECT_NE(FindReason(status["drain"], "gpu_lost", "gpu/0000:9b:00.0"), nullptr) << status;
  struct stat after {};
  if (live_existed) {
    ASSERT_EQ(::stat(live_status.c_str(), &after), 0);
    EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  } else {
    EXPECT_NE(::stat(live_status.c_str(), &after), 0) << live_status << " was created";
  }

  // Pointing a recorded node at the live directory is a usage error.
  const CommandResult refused =
      RunCommand({NODEHEALTH_BINARY, "agent", "--sysroot", node.root(), "--config", dirs.config(),
                  "--state-dir", "/var/lib/nodehealth/", "--listen", "127.0.0.1:0"},
                 {}, 10s);
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_EQ(refused.err,
            "nodehealth agent: the state directory /var/lib/nodehealth/ is the live node's; a "
            "--sysroot run needs its own (--state-dir DIR, default SYSROOT/var/lib/nodehealth)\n");
}

// Item 11: an XID storm against a full history (10,000 records) costs a bounded write rate: at
// most one state write per 10 s between rounds, of a compact file. It rewrote and fsynced the
// whole 1.3 MB file for every XID line (191 MB in 10 s at 20 XIDs/s).
TEST(AgentStateTest, XidStormWritesAreBounded) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  const std::string gpu = node.NvidiaGpus().at(1);
  auto [seq, usec] = node.LastKmsgRecord();
  std::string backlog;
  for (int i = 1; i <= 10000; ++i) {
    backlog += XidRecord(++seq, usec += 1000, gpu, 31, "MMU Fault: ENGINE GRAPHICS");
  }
  AppendToFile(node.kmsg(), backlog);
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--interval", "600"});
  ASSERT_TRUE(agent.ok()) << agent.error();
  ASSERT_TRUE(agent.WaitForReport(30s).is_object()) << agent.Tail();
  // The first round wrote the state with the backlog's 10,000 XIDs.
  const std::string state_path = dirs.state() + "/state.json";
  const uint64_t state_size = std::filesystem::file_size(state_path);
  EXPECT_LT(state_size, 600u * 1024) << "a full history must stay compact";

  const uint64_t before = BytesWritten(agent.process().pid());
  // 20 XIDs a second for 1 s, each its own batch: the real binary does not write per batch. The
  // throttle's timing itself (once per 10 s, flushed by the scheduler) is stepped with a fake
  // clock in AgentCoreTest.KernelLogXidsBetweenRoundsWriteTheStateAtMostEveryTenSeconds.
  for (int i = 0; i < 20; ++i) {
    AppendToFile(node.kmsg(), XidRecord(++seq, usec += 50000, gpu, 31, "MMU Fault"));
    std::this_thread::sleep_for(50ms);
  }
  std::string text;
  ASSERT_TRUE(agent.WaitForMetrics(
      [&](const std::vector<Series>& all) {
        return Value(all, "nodehealth_gpu_xid_events_total", {{"gpu", gpu}, {"xid", "31"}}) ==
               10020.0;
      },
      10s, &text))
      << LinesWith(text, "xid=\"31\"");
  const uint64_t written = BytesWritten(agent.process().pid()) - before;
  // At most one flush of each file (plus logs and the scrapes above) where there were 20 writes.
  EXPECT_LT(written, 2 * state_size + 256 * 1024) << written << " bytes for 20 XIDs";

  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
  const json state = ReadJsonFile(state_path);
  ASSERT_TRUE(state.is_object());
  EXPECT_EQ(state["xid_sequence_seen"], seq);  // the stop wrote the last of the storm
  std::size_t events = 0;
  for (const json& group : state["xid_history"]) events += group["events"].size();
  EXPECT_EQ(events, 10000u);  // history_limit: the oldest went
}

// Item 12: kill -9 at any moment leaves state.json and status.json whole (temporary name, fsync,
// rename), and the next start removes the temporary files a killed write left behind.
TEST(AgentStateTest, KilledAgentsNeverCorruptTheStateAndLeaveNoTemporaries) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  const std::string gpu = node.NvidiaGpus().at(2);
  auto [seq, usec] = node.LastKmsgRecord();
  std::mt19937 random(12345);
  constexpr int kKills = 8;
  int corrupted = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    AgentProcess agent(node, dirs.state(), dirs.config(), {});
    ASSERT_TRUE(agent.ok()) << agent.error();
    // XIDs that change the decision (an XID 79 on a GPU each time: urgent writes) and rounds.
    AppendToFile(node.kmsg(), XidRecord(++seq, usec += 1000000, gpu, 79, "fallen off the bus"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + random() % 1300));
    ASSERT_TRUE(agent.process().Signal(SIGKILL));
    ASSERT_TRUE(agent.process().WaitExit(5s).has_value());
    for (const char* file : {"/state.json", "/status.json"}) {
      const std::string text = ReadFile(dirs.state() + file);
      if (text.empty() || json::parse(text, nullptr, false).is_discarded()) {
        ++corrupted;
        ADD_FAILURE() << file << " after kill " << kill << ": " << text.substr(0, 200);
      }
    }
  }
  EXPECT_EQ(corrupted, 0) << corrupted << " of " << 2 * kKills << " files corrupted";

  // What a write killed between mkstemp and rename leaves, however old: gone after the next start.
  for (const char* name : {"/.state.json.tmp.Ab3dE9", "/.status.json.tmp.x0Y1z2"}) {
    WriteFile(dirs.state() + name, "{\"half\": ");
  }
  AgentProcess agent(node, dirs.state(), dirs.config(), {});
  ASSERT_TRUE(agent.ok()) << agent.error();
  ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(dirs.state())) {
    const std::string name = entry.path().filename().string();
    if (name.find(".tmp.") != std::string::npos) left.push_back(name);
  }
  EXPECT_TRUE(left.empty()) << left.size() << " temporary files left, first " << left.front();
  const json report = agent.WaitForReport(5s);
  EXPECT_NE(FindReason(report["drain"], "gpu_xid", "gpu/" + gpu), nullptr) << report["drain"];
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
}

// One agent per state directory: a second one would overwrite the first's decisions.
TEST(AgentStateTest, ASecondAgentOnTheSameStateDirectoryIsRefused) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  AgentProcess first(node, dirs.state(), dirs.config(), {});
  ASSERT_TRUE(first.ok()) << first.error();
  const CommandResult second =
      RunCommand({NODEHEALTH_BINARY, "agent", "--sysroot", node.root(), "--config", dirs.config(),
                  "--state-dir", dirs.state(), "--listen", "127.0.0.1:0"},
                 {}, 10s);
  EXPECT_EQ(second.exit_code, 2) << second.err;
  EXPECT_EQ(second.err, "nodehealth agent: another nodehealth agent uses the state directory " +
                            dirs.state() + "\n");
  EXPECT_EQ(first.Get("/healthz").status, 200);
}

// Item 12: a state directory that cannot be written (a full disk) is said where people and alerts
// look: /report, status.json when it can be written again, nodehealth_state_last_write_successful.
TEST(AgentStateTest, AFullDiskIsReportedAndRecovered) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  const std::string mount_point = dirs.dir.path() + "/small";
  std::filesystem::create_directories(mount_point);
  if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=512k,mode=0755") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs (needs root): " << std::strerror(errno);
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mount_point};
  const std::string state = mount_point + "/state";
  std::filesystem::create_directories(state);
  AgentProcess agent(node, state, dirs.config(), {});
  ASSERT_TRUE(agent.ok()) << agent.error();
  ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();

  {  // Fill the disk: the next writes fail.
    std::ofstream filler(mount_point + "/filler", std::ios::binary);
    const std::string block(4096, 'x');
    while (filler.write(block.data(), block.size()) && filler.flush()) {
    }
  }
  std::string text;
  EXPECT_TRUE(agent.WaitForMetrics(
      [](const std::vector<Series>& all) {
        return Value(all, "nodehealth_state_last_write_successful") == 0.0 &&
               Value(all, "nodehealth_state_write_errors_total").value_or(0) >= 1;
      },
      10s, &text))
      << LinesWith(text, "nodehealth_state");
  json report = agent.WaitForReport(5s);
  EXPECT_THAT(report["policy"]["state_error"].get<std::string>(),
              ::testing::HasSubstr("No space left on device"));

  std::filesystem::remove(mount_point + "/filler");
  EXPECT_TRUE(agent.WaitForMetrics(
      [](const std::vector<Series>& all) {
        return Value(all, "nodehealth_state_last_write_successful") == 1.0;
      },
      10s, &text))
      << LinesWith(text, "nodehealth_state");
  report = agent.WaitForReport(5s);
  EXPECT_EQ(report["policy"]["state_error"], "");
  EXPECT_EQ(ReadJsonFile(state + "/status.json")["state_error"], "");
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
}

// Item 2: a local user who holds the agent's port while it is down (a restart, a crash) kept it
// down for good (exit 2, and systemd's RestartPreventExitStatus=2). The agent now runs on (rounds,
// decisions, the status file slurm-healthcheck reads) and binds the port once it is free.
TEST(AgentStateTest, APortHeldByAnotherProcessDoesNotKeepTheAgentDown) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  const int squatter = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(squatter, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(squatter, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(squatter, 4), 0);
  ASSERT_EQ(::getsockname(squatter, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int port = ntohs(address.sin_port);

  BackgroundProcess agent(
      {NODEHEALTH_BINARY, "agent", "--sysroot", node.root(), "--nvml-library",
       NODEHEALTH_FAKE_NVML_LIBRARY, "--listen", "127.0.0.1:" + std::to_string(port), "--state-dir",
       dirs.state(), "--config", dirs.config(), "--interval", "1"},
      {{"NODEHEALTH_FAKE_NVML", node.scenario()}});
  ASSERT_TRUE(agent.started()) << agent.error();
  const auto wait_for = [&](const std::function<bool()>& done, std::chrono::seconds timeout) {
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until && !done()) std::this_thread::sleep_for(50ms);
    return done();
  };
  EXPECT_TRUE(wait_for(
      [&] { return agent.Stderr().find("retrying every 10 s") != std::string::npos; }, 10s))
      << agent.OutputTail();
  EXPECT_TRUE(agent.Running()) << agent.OutputTail();
  // Rounds and the verdict go on without the port.
  EXPECT_TRUE(
      wait_for([&] { return ReadJsonFile(dirs.state() + "/status.json").is_object(); }, 15s))
      << agent.OutputTail();

  ::close(squatter);
  const std::string listening = "nodehealth agent: listening on port " + std::to_string(port);
  EXPECT_TRUE(wait_for([&] { return agent.Stderr().find(listening) != std::string::npos; }, 15s))
      << agent.OutputTail();
  EXPECT_EQ(HttpGet(LoopbackHostPort(port), "/healthz").status, 200);
  EXPECT_EQ(agent.Stop(), 0) << agent.OutputTail();
}

}  // namespace
}  // namespace nodehealth::testing
