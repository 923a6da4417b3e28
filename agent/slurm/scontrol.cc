#include "agent/slurm/scontrol.h"

#include <unistd.h>

#include <map>

#include "probes/platform/child_process.h"

namespace nodehealth::slurm {

std::optional<std::string> FindScontrol() {
  for (const char* path :
       {"/usr/bin/scontrol", "/usr/local/bin/scontrol", "/opt/slurm/bin/scontrol"}) {
    if (::access(path, X_OK) == 0) return std::string(path);
  }
  return std::nullopt;
}

Expected<std::string> Scontrol::Run(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {program_};
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> env;
  if (!slurm_conf_.empty()) env["SLURM_CONF"] = slurm_conf_;
  const platform::ChildResult child = platform::RunChild(
      argv, env, platform::Deadline::In(timeout_), 16u << 20, std::chrono::milliseconds(500));
  std::string command = "scontrol";
  for (const std::string& arg : args) command += " " + arg;
  if (!child.started) return MakeError(command + ": cannot run " + program_ + ": " + child.error);
  if (child.timed_out) {
    return MakeError(command + ": no answer within " + std::to_string(timeout_.count()) + " ms");
  }
  if (child.exit_code != 0) {
    std::string err = child.err.empty() ? child.out : child.err;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    return MakeError(command + ": exit " + std::to_string(child.exit_code) + ": " + err);
  }
  return child.out;
}

Expected<SlurmNode> Scontrol::ShowNode(const std::string& name) const {
  Expected<std::string> out = Run({"show", "node", "-o", name});
  if (!out) return out.error();
  Expected<std::vector<SlurmNode>> nodes = ParseSlurmNodes(*out);
  if (!nodes) return nodes.error();
  for (SlurmNode& node : *nodes) {
    if (node.name == name) return std::move(node);
  }
  return MakeError("scontrol show node " + name + ": the node is not in the output");
}

Expected<std::vector<SlurmNode>> Scontrol::ShowNodes() const {
  Expected<std::string> out = Run({"show", "node", "-o"});
  if (!out) return out.error();
  return ParseSlurmNodes(*out);
}

Expected<bool> Scontrol::Drain(const std::string& name, const std::string& reason) const {
  Expected<std::string> out =
      Run({"update", "NodeName=" + name, "State=DRAIN", "Reason=" + reason});
  if (!out) return out.error();
  return true;
}

Expected<bool> Scontrol::Resume(const std::string& name) const {
  Expected<std::string> out = Run({"update", "NodeName=" + name, "State=RESUME"});
  if (!out) return out.error();
  return true;
}

}  // namespace nodehealth::slurm
