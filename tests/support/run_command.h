// Runs a program (the real nodehealth binary) with arguments and environment, capturing stdout,
// stderr, the exit status and the wall time, and killing it after `timeout`.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace nodehealth::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or by the timeout
  bool timed_out = false;
  std::string out;
  std::string err;
  double seconds = 0;
};

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace nodehealth::testing
