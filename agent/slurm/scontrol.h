// The Slurm controller, through the `scontrol` command (its output and arguments are stable
// across Slurm releases; libslurm's API is not). Each call is a child process with a deadline, so
// a slurmctld that does not answer costs at most `timeout` per call.
//
// Slurm runs the health check with no PATH and only SLURMD_NODENAME in the environment, so the
// program is an absolute path and SLURM_CONF is passed explicitly when configured.
//
// Thread safety: const methods, reentrant.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agent/slurm/slurm_node.h"
#include "probes/util/expected.h"

namespace nodehealth::slurm {

// The first executable of /usr/bin/scontrol, /usr/local/bin/scontrol, /opt/slurm/bin/scontrol;
// nullopt when none exists.
std::optional<std::string> FindScontrol();

class Scontrol {
 public:
  // `slurm_conf`: exported as SLURM_CONF to scontrol when not empty.
  Scontrol(std::string program, std::string slurm_conf, std::chrono::milliseconds timeout)
      : program_(std::move(program)), slurm_conf_(std::move(slurm_conf)), timeout_(timeout) {}

  // `scontrol show node -o NAME`.
  Expected<SlurmNode> ShowNode(const std::string& name) const;
  // `scontrol show node -o`: every node.
  Expected<std::vector<SlurmNode>> ShowNodes() const;
  // `scontrol update NodeName=NAME State=DRAIN Reason=REASON`: running jobs finish first.
  Expected<bool> Drain(const std::string& name, const std::string& reason) const;
  // `scontrol update NodeName=NAME State=RESUME`.
  Expected<bool> Resume(const std::string& name) const;

 private:
  Expected<std::string> Run(const std::vector<std::string>& args) const;

  std::string program_;
  std::string slurm_conf_;
  std::chrono::milliseconds timeout_;
};

}  // namespace nodehealth::slurm
