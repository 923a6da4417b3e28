#include "tests/support/run_command.h"

#include "probes/platform/child_process.h"

namespace nodehealth::testing {

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env,
                         std::chrono::milliseconds timeout) {
  const platform::ChildResult child = platform::RunChild(argv, env, platform::Deadline::In(timeout),
                                                         64u << 20, std::chrono::milliseconds(0));
  CommandResult result;
  result.exit_code = child.exit_code;
  result.timed_out = child.timed_out;
  result.out = child.out;
  result.err = child.started ? child.err : "spawn failed: " + child.error;
  result.seconds = child.seconds;
  return result;
}

}  // namespace nodehealth::testing
