// `--help` of nodehealth and of every command: exits 0, has the command's description, its flags,
// examples and exit status.
#include <gtest/gtest.h>

#include <cctype>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/run_command.h"

namespace nodehealth {
namespace {

// The lines of `help` under the heading `title` ("Subcommands:" in CLI11 2.1, "SUBCOMMANDS:" in
// later versions): each one's first word.
std::vector<std::string> SectionWords(const std::string& help, const std::string& title) {
  std::vector<std::string> words;
  std::istringstream in(help);
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    std::string lower = line;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == title) {
      in_section = true;
      continue;
    }
    if (!in_section) continue;
    if (line.empty() || line[0] != ' ') break;
    std::istringstream in_line(line);
    std::string word;
    in_line >> word;
    if (!word.empty()) words.push_back(word);
  }
  return words;
}

std::vector<std::string> ListedCommands(const std::string& help) {
  return SectionWords(help, "subcommands:");
}

testing::CommandResult Help(const std::vector<std::string>& words) {
  std::vector<std::string> argv{NODEHEALTH_BINARY};
  argv.insert(argv.end(), words.begin(), words.end());
  argv.push_back("--help");
  return testing::RunCommand(argv, {}, std::chrono::seconds(30));
}

TEST(CliHelpTest, TopLevelListsEveryCommand) {
  const testing::CommandResult run = Help({});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(
      ListedCommands(run.out),
      (std::vector<std::string>{"check", "burnin", "agent", "topology", "slurm-healthcheck",
                                "slurm-drain", "repair", "provider-report", "probes", "bundle"}))
      << run.out;
  EXPECT_NE(run.out.find("Exit status"), std::string::npos) << run.out;
}

TEST(CliHelpTest, EveryCommandHasExamplesAndExitStatus) {
  const testing::CommandResult top = Help({});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  std::vector<std::vector<std::string>> commands;
  for (const std::string& c : ListedCommands(top.out)) commands.push_back({c});
  commands.push_back({"topology", "save"});
  for (const std::vector<std::string>& command : commands) {
    const std::string name = command.back();
    const testing::CommandResult run = Help(command);
    EXPECT_EQ(run.exit_code, 0) << name << ": " << run.err;
    EXPECT_EQ(run.err, "") << name;
    EXPECT_NE(run.out.find("Examples:\n  nodehealth"), std::string::npos) << name << "\n"
                                                                          << run.out;
    EXPECT_NE(run.out.find("\nExit status:\n  0  "), std::string::npos) << name << run.out;
    const std::vector<std::string> options = SectionWords(run.out, "options:");
    ASSERT_FALSE(options.empty()) << name << run.out;
    EXPECT_EQ(options[0], "-h,--help") << name;
    EXPECT_NE(run.out.find("Usage: nodehealth " + (command.size() == 2 ? "topology save" : name)),
              std::string::npos)
        << name << run.out;
    // Each example is a command line followed by what it does.
    EXPECT_NE(run.out.find("\n      "), std::string::npos) << name << run.out;
  }
}

TEST(CliHelpTest, FlagsKeepTheirNames) {
  const testing::CommandResult check = Help({"check"});
  for (const char* flag : {"--profile", "--config", "--sysroot", "--nvml-library", "--only",
                           "--skip", "--timeout", "--format", "--output"}) {
    EXPECT_NE(check.out.find(flag), std::string::npos) << flag;
  }
  const testing::CommandResult slurm = Help({"slurm-healthcheck"});
  for (const char* flag : {"--node", "--state-dir", "--dry-run", "--idle-check"}) {
    EXPECT_NE(slurm.out.find(flag), std::string::npos) << flag;
  }
  const testing::CommandResult drain = Help({"slurm-drain"});
  for (const char* flag : {"--code", "--config", "--dry-run", "NODE"}) {
    EXPECT_NE(drain.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace nodehealth
