// Log lines for journald: under systemd (JOURNAL_STREAM names stderr) each line starts with its
// syslog priority, so `journalctl -p warning` finds drain decisions and probe errors; elsewhere
// spdlog's own pattern, without a prefix.
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <sstream>
#include <string>

#include "agent/cli/log_setup.h"
#include "tests/support/run_command.h"

namespace nodehealth {
namespace {

std::string LogSome(bool journal) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("nodehealth", sink);
  logger.set_level(spdlog::level::trace);
  ConfigureLogFormat(logger, journal);
  logger.warn("drain decision: drain (reboot): gpu_lost gpu/0000:9b:00.0;");
  logger.info("listening on 127.0.0.1:9840");
  logger.error("probe gpu_health could not decide: NVML timed out");
  logger.debug("http: bad request");
  logger.critical("out of memory");
  logger.flush();
  return out.str();
}

TEST(JournalLogTest, PrefixesEachLineWithItsSyslogPriority) {
  EXPECT_EQ(LogSome(/*journal=*/true),
            "<4>warning: drain decision: drain (reboot): gpu_lost gpu/0000:9b:00.0;\n"
            "<6>info: listening on 127.0.0.1:9840\n"
            "<3>error: probe gpu_health could not decide: NVML timed out\n"
            "<7>debug: http: bad request\n"
            "<2>critical: out of memory\n");
}

TEST(JournalLogTest, NoPrefixOutsideTheJournal) {
  const std::string text = LogSome(/*journal=*/false);
  EXPECT_EQ(text.find('<'), std::string::npos) << text;
  EXPECT_EQ(text.front(), '[') << text;  // spdlog's default "[time] [name] [level] message"
  EXPECT_NE(text.find("[nodehealth] [warning] drain decision: drain (reboot)"), std::string::npos)
      << text;
}

TEST(JournalLogTest, SyslogPriorities) {
  EXPECT_EQ(SyslogPriority(spdlog::level::trace), 7);
  EXPECT_EQ(SyslogPriority(spdlog::level::debug), 7);
  EXPECT_EQ(SyslogPriority(spdlog::level::info), 6);
  EXPECT_EQ(SyslogPriority(spdlog::level::warn), 4);
  EXPECT_EQ(SyslogPriority(spdlog::level::err), 3);
  EXPECT_EQ(SyslogPriority(spdlog::level::critical), 2);
}

TEST(JournalLogTest, JournalStreamMustNameTheDescriptor) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  struct stat st {};
  ASSERT_EQ(::fstat(fds[1], &st), 0);
  const std::string dev = std::to_string(st.st_dev);
  const std::string ino = std::to_string(st.st_ino);
  EXPECT_TRUE(StreamIsJournal((dev + ":" + ino).c_str(), fds[1]));
  EXPECT_FALSE(StreamIsJournal((dev + ":" + std::to_string(st.st_ino + 1)).c_str(), fds[1]));
  EXPECT_FALSE(StreamIsJournal(nullptr, fds[1]));
  EXPECT_FALSE(StreamIsJournal("", fds[1]));
  EXPECT_FALSE(StreamIsJournal("journal", fds[1]));
  EXPECT_FALSE(StreamIsJournal((dev + ":").c_str(), fds[1]));
  EXPECT_FALSE(StreamIsJournal((dev + ":" + ino + "x").c_str(), fds[1]));
  EXPECT_FALSE(StreamIsJournal((dev + ":" + ino).c_str(), -1));
  ::close(fds[0]);
  ::close(fds[1]);
}

// The real binary: the agent's warning about unused options, with JOURNAL_STREAM set to its
// stderr (as systemd sets it for StandardError=journal) and without.
constexpr char kUnusedOptionsWarning[] =
    "warning: --format and --output are unused by the agent: its report is at /report\n";

testing::CommandResult RunAgentWithBadConfig(bool journal) {
  const std::string agent =
      std::string(NODEHEALTH_BINARY) + " agent --format json --config /nonexistent/nodehealth.toml";
  const std::string script =
      journal ? "JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec " + agent
              : "unset JOURNAL_STREAM; exec " + agent;
  return testing::RunCommand({"bash", "-c", script}, {}, std::chrono::seconds(30));
}

TEST(JournalLogTest, AgentUnderSystemdWritesPriorities) {
  const testing::CommandResult run = RunAgentWithBadConfig(/*journal=*/true);
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_EQ(run.err.rfind(std::string("<4>") + kUnusedOptionsWarning, 0), 0u) << run.err;
}

TEST(JournalLogTest, AgentOnATerminalWritesNoPriorities) {
  const testing::CommandResult run = RunAgentWithBadConfig(/*journal=*/false);
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_EQ(run.err.find("<4>"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("[nodehealth] [warning] --format and --output are unused"),
            std::string::npos)
      << run.err;
}

}  // namespace
}  // namespace nodehealth
