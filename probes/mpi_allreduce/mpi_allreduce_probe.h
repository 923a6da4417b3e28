// mpi_allreduce (active): runs nodehealth-allreduce (mpi-tests/) through mpirun, or srun inside a
// Slurm job, as a child with a deadline, and judges its JSON.
//
// Checks:  the run completes; every reduced value is right; the bus bandwidth at the profile's
//          size reaches its floor (a low result is run once more before it counts: one noisy run
//          is not a bad node).
// Runs:    mpirun -np <ranks> [-x MALLOC_*] <launcher_args> nodehealth-allreduce --json ...;
//          ranks from the configuration ([mpi_allreduce] ranks), else the profile's, else one per
//          expected GPU, else 2.
//          As root it sets OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM), Open MPI's explicit permission; it
//          sets MALLOC_MMAP_MAX_=0 and a high MALLOC_TRIM_THRESHOLD_ so glibc keeps large
//          temporary buffers instead of unmapping them after every call.
// Findings: mpi_allreduce_failed, mpi_allreduce_wrong_result, mpi_allreduce_bandwidth_low (node).
// Measurements: allreduce_bus_bandwidth_bytes_per_second{size_bytes},
//          allreduce_algorithm_bandwidth_bytes_per_second{size_bytes},
//          allreduce_latency_seconds{size_bytes}, allreduce_ranks.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "probes/platform/child_process.h"
#include "probes/probe.h"

namespace nodehealth {

using ChildRunner = std::function<platform::ChildResult(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
    platform::Deadline deadline)>;

class MpiAllreduceProbe final : public Probe {
 public:
  explicit MpiAllreduceProbe(ChildRunner runner = DefaultRunner());
  const ProbeInfo& info() const override;
  ProbeResult Run(const ProbeContext& context) const override;

  static ChildRunner DefaultRunner();

 private:
  ChildRunner runner_;
};

// Where nodehealth-allreduce is: the profile's path, next to this executable, in a build tree's
// mpi-tests/, else the bare name for a PATH search.
std::string FindAllreduceProgram(const std::string& configured);

}  // namespace nodehealth
