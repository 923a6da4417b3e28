// The agent's schedule, policy and state files decided with a fake clock (FakeDaemonEnv): each
// test steps AgentCore through minutes or hours of rounds in milliseconds. The end-to-end tests
// (tests/e2e/agent_*_test.cc) prove the real binary; these prove the timing exactly.
#include "agent/daemon/agent_core.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "agent/cli/log_setup.h"
#include "agent/daemon/round_schedule.h"
#include "tests/support/fake_daemon_env.h"
#include "tests/support/fixture_node.h"

namespace nodehealth::agent {
namespace {

using namespace std::chrono_literals;
using nodehealth::testing::FakeDaemonEnv;

// A probe whose result the test sets; it counts its runs. It borrows a catalogue name so that the
// core reports it (the report lists the catalogue's probes).
class ScriptedProbe final : public Probe {
 public:
  ScriptedProbe(std::string_view name, ProbeKind kind) {
    info_.name = name;
    info_.kind = kind;
    info_.timeout = 2s;
  }
  const ProbeInfo& info() const override { return info_; }
  ProbeResult Run(const ProbeContext&) const override {
    ++runs;
    std::lock_guard lock(mutex_);
    ProbeResult result;
    if (failing_) result.findings.push_back(MakeFinding("gpu_missing", "node", "1 of 8 missing"));
    if (!error_.empty()) MarkUndecided(result, "probe_error", "node", error_);
    FinalizeVerdict(result);
    return result;
  }
  void SetFailing(bool failing) {
    std::lock_guard lock(mutex_);
    failing_ = failing;
  }
  // Non-empty: the probe cannot decide, for this reason.
  void SetError(std::string error) {
    std::lock_guard lock(mutex_);
    error_ = std::move(error);
  }
  mutable std::atomic<int> runs{0};

 private:
  ProbeInfo info_;
  mutable std::mutex mutex_;
  bool failing_ = false;
  std::string error_;
};

// A memory that counts the rounds it saw, across restarts: its history is the count.
class CountingMemory final : public RoundMemory {
 public:
  void AfterRun(const Profile*, double, ProbeResult&) override { ++rounds_; }
  std::string SaveHistory() const override { return "rounds " + std::to_string(rounds_); }
  void RestoreHistory(std::string_view text) override {
    if (text.starts_with("rounds ")) rounds_ = std::stoi(std::string(text.substr(7)));
  }

 private:
  int rounds_ = 0;
};

class RememberingProbe final : public Probe {
 public:
  RememberingProbe() {
    info_.name = "ib_ports";
    info_.kind = ProbeKind::kPassive;
    info_.timeout = 2s;
  }
  const ProbeInfo& info() const override { return info_; }
  ProbeResult Run(const ProbeContext&) const override {
    ProbeResult result;
    FinalizeVerdict(result);
    return result;
  }
  std::unique_ptr<RoundMemory> NewRoundMemory() const override {
    return std::make_unique<CountingMemory>();
  }

 private:
  ProbeInfo info_;
};

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

class AgentCoreTest : public ::testing::Test {
 protected:
  AgentCoreTest() : env_(dir_.path() + "/node") {
    std::filesystem::create_directories(dir_.path() + "/node");
    std::filesystem::create_directories(state_dir());
    options_.common.sysroot = dir_.path() + "/node";
  }

  std::string state_dir() const { return dir_.path() + "/state"; }
  nlohmann::json Status() const { return ReadJson(state_dir() + "/status.json"); }
  double StatusUpdatedAt() const { return Status()["updated_at_unix_seconds"].get<double>(); }

  ResolvedSettings Settings(std::optional<double> active_interval = std::nullopt) {
    ResolvedSettings s;
    s.plan.passive = {{&passive_, 2s}};
    s.plan.active = {{&active_, 5s}};
    s.interval_seconds = 60;
    s.jitter = 0.1;
    s.active_interval_seconds = active_interval;
    s.state_dir = state_dir();
    s.nvml_library = "libnvidia-ml-absent-in-tests.so.1";
    return s;
  }

  std::unique_ptr<AgentCore> Start(ResolvedSettings settings) {
    auto core = std::make_unique<AgentCore>(env_, options_, std::move(settings), PolicyState{},
                                            [this] { ++wakes_; });
    core->Start();
    return core;
  }

  nodehealth::testing::TempDir dir_;
  FakeDaemonEnv env_;
  AgentOptions options_;
  ScriptedProbe passive_{"gpu_presence", ProbeKind::kPassive};
  ScriptedProbe active_{"rdma_loopback", ProbeKind::kActive};
  std::atomic<int> wakes_{0};
};

TEST(RoundScheduleTest, PassiveEveryIntervalWithJitterAndActiveAfterTheFirstPassiveRound) {
  const RoundSchedule::Time t0{std::chrono::hours(1)};
  const RoundTiming timing{.interval_seconds = 60, .jitter = 0.1, .active_interval_seconds = 3600};
  RoundSchedule schedule(t0);
  EXPECT_TRUE(schedule.PassiveDue(t0));
  EXPECT_FALSE(schedule.ActiveDue(t0));                      // never before the first passive round
  EXPECT_TRUE(schedule.PassiveDone(t0 + 1s, timing, -1.0));  // the first: ready
  EXPECT_TRUE(schedule.ready());
  EXPECT_EQ(schedule.NextRound(), t0 + 1s + 54s);  // 60 s - 10 %
  EXPECT_FALSE(schedule.PassiveDone(t0 + 55s, timing, 1.0));
  EXPECT_EQ(schedule.NextRound(), t0 + 55s + 66s);  // 60 s + 10 %
  EXPECT_FALSE(schedule.ActiveDue(t0 + 1s + 3599s));
  EXPECT_TRUE(schedule.ActiveDue(t0 + 1s + 3600s));

  schedule.ActiveDone(t0 + 3700s, timing);
  EXPECT_FALSE(schedule.ActiveDue(t0 + 3700s + 3599s));
  schedule.RequestActive();  // SIGUSR1
  EXPECT_TRUE(schedule.ActiveDue(t0 + 3701s));
  EXPECT_EQ(schedule.NextRound(), RoundSchedule::Time::min());
  schedule.ActiveDone(t0 + 3702s, timing);
  EXPECT_FALSE(schedule.ActiveDue(t0 + 3703s));

  // A reload that drops [agent] active_probes ends the active schedule; one that adds them back
  // starts it from the reload.
  schedule.Reloaded(
      t0 + 4000s, {.interval_seconds = 60, .jitter = 0.1, .active_interval_seconds = std::nullopt});
  EXPECT_FALSE(schedule.ActiveDue(t0 + 100000s));
  schedule.Reloaded(t0 + 5000s, timing);
  EXPECT_FALSE(schedule.ActiveDue(t0 + 5000s + 3599s));
  EXPECT_TRUE(schedule.ActiveDue(t0 + 5000s + 3600s));
}

TEST_F(AgentCoreTest, RoundsFollowTheClockAndTheStatusFileSaysHowLongItVouches) {
  env_.SetJitter(0.5);
  std::unique_ptr<AgentCore> core = Start(Settings());
  EXPECT_EQ(core->NextWake(), env_.At(0s));  // the first round at once
  EXPECT_FALSE(core->ready());
  core->Step();
  EXPECT_EQ(passive_.runs.load(), 1);
  EXPECT_EQ(active_.runs.load(), 0);  // active probes only on request: no active_probes
  EXPECT_TRUE(core->ready());
  EXPECT_EQ(env_.notifications(),
            std::vector<std::string>{"READY=1\nSTATUS=first passive round done"});
  EXPECT_EQ(core->NextWake(), env_.At(63s));  // 60 s + 0.5 x 10 %
  // Valid for 3 rounds + the longest probe timeout (the active probe's 5 s) + 30 s.
  const nlohmann::json status = Status();
  EXPECT_DOUBLE_EQ(status["updated_at_unix_seconds"].get<double>(), 1.8e9);
  EXPECT_DOUBLE_EQ(status["valid_until_unix_seconds"].get<double>(), 1.8e9 + 180 + 5 + 30);
  EXPECT_EQ(status["agent"]["pid"], 4242);
  EXPECT_EQ(status["node"], "fake-node-1");

  env_.Advance(62s);
  core->Step();  // woken early (a spurious wake-up): nothing is due
  EXPECT_EQ(passive_.runs.load(), 1);
  env_.Advance(1s);
  core->Step();
  EXPECT_EQ(passive_.runs.load(), 2);
  EXPECT_DOUBLE_EQ(StatusUpdatedAt(), 1.8e9 + 63);
  EXPECT_EQ(core->NextWake(), env_.At(63s + 63s));

  // The watchdog's promise: the next wake plus 30 s. A scheduler that misses it is unhealthy.
  EXPECT_TRUE(core->Healthy());
  env_.Advance(63s + 29s);
  EXPECT_TRUE(core->Healthy());
  env_.Advance(2s);
  EXPECT_FALSE(core->Healthy());
  core->Step();
  EXPECT_TRUE(core->Healthy());

  core->Stop();  // the status file no longer vouches for the node
  EXPECT_DOUBLE_EQ(Status()["valid_until_unix_seconds"].get<double>(),
                   Status()["updated_at_unix_seconds"].get<double>());
}

TEST_F(AgentCoreTest, ActiveRoundsOnTheirIntervalAndOnRequest) {
  std::unique_ptr<AgentCore> core = Start(Settings(/*active_interval=*/3600));
  core->Step();
  EXPECT_EQ(active_.runs.load(), 0);
  const int wakes = wakes_.load();
  core->RequestActiveRound();       // SIGUSR1
  EXPECT_GT(wakes_.load(), wakes);  // the scheduler is woken
  EXPECT_EQ(core->NextWake(), DaemonEnv::SteadyTime::min());
  core->Step();
  EXPECT_EQ(active_.runs.load(), 1);
  EXPECT_EQ(passive_.runs.load(), 1);  // the passive round was not due

  // 3600 s after the request's round, with passive rounds every 60 s in between.
  for (int minute = 1; minute <= 60; ++minute) {
    env_.Advance(60s);
    core->Step();
  }
  EXPECT_EQ(passive_.runs.load(), 61);
  EXPECT_EQ(active_.runs.load(), 2);
}

TEST_F(AgentCoreTest, KernelLogXidsBetweenRoundsWriteTheStateAtMostEveryTenSeconds) {
  std::unique_ptr<AgentCore> core = Start(Settings());
  core->Step();  // the round writes at t = 0
  ASSERT_DOUBLE_EQ(StatusUpdatedAt(), 1.8e9);
  const auto xid = [&](uint64_t sequence) {
    return XidEventRecord{.boot_id = env_.BootId(),
                          .sequence = sequence,
                          .time = env_.UnixNow(),
                          .bus_id = "0000:19:00.0",
                          .xid = 13};
  };
  env_.Advance(1s);
  core->OnKernelLogXids({xid(1)});  // an XID storm that jobs can cause at will
  env_.Advance(4s);
  core->OnKernelLogXids({xid(2)});
  EXPECT_DOUBLE_EQ(StatusUpdatedAt(), 1.8e9);  // not yet written
  EXPECT_EQ(core->NextWake(), env_.At(10s));   // the scheduler flushes then
  env_.Advance(5s);
  core->Step();
  EXPECT_DOUBLE_EQ(StatusUpdatedAt(), 1.8e9 + 10);
  const nlohmann::json state = ReadJson(state_dir() + "/state.json");
  ASSERT_EQ(state["xid_history"].size(), 1u);  // one group per boot
  EXPECT_EQ(state["xid_history"][0]["events"].size(), 2u);
  EXPECT_EQ(core->NextWake(), env_.At(60s));  // nothing left to flush: the next round (no jitter)

  env_.Advance(11s);  // more than 10 s since the last write: written at once
  core->OnKernelLogXids({xid(3)});
  EXPECT_DOUBLE_EQ(StatusUpdatedAt(), 1.8e9 + 21);
}

TEST_F(AgentCoreTest, ADecisionThatChangesIsWrittenAtOnceAndReleasedByAPassingRound) {
  std::unique_ptr<AgentCore> core = Start(Settings());
  passive_.SetFailing(true);
  core->Step();
  nlohmann::json status = Status();
  EXPECT_EQ(status["drain"]["recommended"], true);
  EXPECT_EQ(status["drain"]["action"], "reboot");
  ASSERT_EQ(status["drain"]["reasons"].size(), 1u);
  EXPECT_EQ(status["drain"]["reasons"][0]["code"], "gpu_missing");
  EXPECT_EQ(env_.notifications().back(), "READY=1\nSTATUS=first passive round done");
  const std::vector<std::string> seen = env_.notifications();
  EXPECT_NE(std::find(seen.begin(), seen.end(), "STATUS=drain (reboot): gpu_missing node;"),
            seen.end());

  passive_.SetFailing(false);
  env_.Advance(63s);
  core->Step();
  status = Status();
  EXPECT_EQ(status["drain"]["recommended"], false);
  EXPECT_DOUBLE_EQ(status["updated_at_unix_seconds"].get<double>(), 1.8e9 + 63);
  EXPECT_EQ(env_.notifications().back(), "STATUS=no drain");
  const std::shared_ptr<const AgentSnapshot> snapshot = core->Latest();
  ASSERT_TRUE(snapshot);
  EXPECT_TRUE(snapshot->has_results);
  const nlohmann::json report = nlohmann::json::parse(snapshot->report_json);
  EXPECT_EQ(report["mode"], "agent");
  EXPECT_EQ(report["verdict"], "pass");
  EXPECT_EQ(report["summary"], "nodehealth agent: no drain");
}

// What `journalctl -p warning` shows (the log in the journal's format, log_setup.h): a drain
// decision and its release, and a probe that cannot decide, once when it starts failing, not
// every round; its recovery at info.
TEST_F(AgentCoreTest, DrainDecisionsAndProbeErrorsAreWarningsInTheJournal) {
  std::ostringstream log;
  auto logger = std::make_shared<spdlog::logger>(
      "nodehealth", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  ConfigureLogFormat(*logger, /*journal=*/true);
  logger->set_level(spdlog::level::info);
  const std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);

  std::unique_ptr<AgentCore> core = Start(Settings());
  passive_.SetFailing(true);
  core->Step();
  passive_.SetFailing(false);
  passive_.SetError("NVML did not answer within 2 s");
  for (int round = 0; round < 3; ++round) {
    env_.Advance(66s);
    core->Step();
  }
  passive_.SetError("");
  env_.Advance(66s);
  core->Step();
  spdlog::set_default_logger(previous);

  std::vector<std::string> lines;
  std::istringstream in(log.str());
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("<4>") || line.find("probe gpu_presence") != std::string::npos) {
      lines.push_back(line);
    }
  }
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "<4>warning: drain decision: drain (reboot): gpu_missing node;",
                       "<4>warning: probe gpu_presence could not decide: NVML did not answer "
                       "within 2 s",
                       "<4>warning: drain decision: no drain",
                       // probe_error drains after [drain] noisy_rounds failing rounds in a row
                       "<4>warning: drain decision: drain (drain): probe_error node;",
                       "<6>info: probe gpu_presence decides again (pass)",
                       "<4>warning: drain decision: no drain",
                   }))
      << log.str();
}

TEST_F(AgentCoreTest, RoundMemoriesSurviveARestartInTheSameBootOnly) {
  RememberingProbe remembering;
  ResolvedSettings settings = Settings();
  settings.plan.passive = {{&remembering, 2s}};
  const std::string file = state_dir() + "/round-memory.json";
  {
    std::unique_ptr<AgentCore> core = Start(settings);
    core->Step();
    env_.Advance(70s);
    core->Step();
    core->Stop();
  }
  nlohmann::json saved = ReadJson(file);
  EXPECT_EQ(saved["schema"], "nodehealth-round-memory/1");
  EXPECT_EQ(saved["boot_id"], "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(saved["probes"]["ib_ports"], "rounds 2");

  {  // A restart in the same boot goes on counting.
    std::unique_ptr<AgentCore> core = Start(settings);
    core->Step();
    core->Stop();
  }
  EXPECT_EQ(ReadJson(file)["probes"]["ib_ports"], "rounds 3");

  // Saved in another boot: the counters behind it restarted, so the memory starts empty.
  saved["boot_id"] = "99999999-2222-3333-4444-555555555555";
  saved["probes"]["ib_ports"] = "rounds 40";
  {
    std::ofstream out(file);
    out << saved.dump();
  }
  {
    std::unique_ptr<AgentCore> core = Start(settings);
    core->Step();
    core->Stop();
  }
  EXPECT_EQ(ReadJson(file)["probes"]["ib_ports"], "rounds 1");

  // A damaged file: the memory starts empty and the file is written again.
  {
    std::ofstream out(file);
    out << "{\"schema\": \"nodehealth-round-memory/1\", \"boot_id\": 7";
  }
  {
    std::unique_ptr<AgentCore> core = Start(settings);
    core->Step();
    core->Stop();
  }
  EXPECT_EQ(ReadJson(file)["probes"]["ib_ports"], "rounds 1");
}

TEST(RoundHistoriesTest, ParsesItsOwnTextAndRejectsWhatIsNotIt) {
  const std::string text =
      SerializeRoundHistories("boot-a", {{"ib_ports", "mlx5_0/1 10 3\n"}, {"gpu_health", ""}});
  EXPECT_EQ(text,
            "{\"schema\":\"nodehealth-round-memory/1\",\"boot_id\":\"boot-a\",\"probes\":{"
            "\"ib_ports\":\"mlx5_0/1 10 3\\n\"}}\n");
  Expected<RoundHistories> same_boot = ParseRoundHistories(text, "boot-a");
  ASSERT_TRUE(same_boot) << same_boot.error().message;
  EXPECT_EQ(*same_boot, (RoundHistories{{"ib_ports", "mlx5_0/1 10 3\n"}}));
  Expected<RoundHistories> other_boot = ParseRoundHistories(text, "boot-b");
  ASSERT_TRUE(other_boot);
  EXPECT_TRUE(other_boot->empty());

  EXPECT_EQ(ParseRoundHistories("[]", "b").error().message, "not a JSON object");
  EXPECT_EQ(ParseRoundHistories(R"({"schema":"x","boot_id":"b","probes":{}})", "b").error().message,
            "schema is not \"nodehealth-round-memory/1\"");
  EXPECT_EQ(ParseRoundHistories(
                R"({"schema":"nodehealth-round-memory/1","boot_id":"b","probes":{"a":1}})", "b")
                .error()
                .message,
            "probes.a is not a string");
  EXPECT_FALSE(ParseRoundHistories(std::string(100000, '['), "b"));
}

}  // namespace
}  // namespace nodehealth::agent
