// Judging the GPU worker's copy figures (pure, so the rules are unit-tested without a worker):
// each figure against the profile's floor, with a warning band just above it, and against the
// node's own median, so that one slow GPU or one weak link is named even where the profile has no
// floor. The finding's entity is what is at fault:
//   * a GPU whose host<->device or device->device copies are low: gpu/<bus id>;
//   * a GPU whose every peer copy (to and from each other GPU) is low: gpu/<bus id>
//     (its NVLinks or its NVSwitch port), with three GPUs or more;
//   * otherwise each weak pair: gpu-pair/<bus id>,<bus id>, both directions in one finding.
// The same rules serve the NCCL probe's in-node bisection (nccl_allreduce).
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "probes/gpu_bandwidth/worker_report.h"
#include "probes/probe_result.h"

namespace nodehealth::gpu_worker {

// Floors in bytes per second.
struct CopyFloors {
  std::optional<double> host_device;  // host_to_device and device_to_host
  std::optional<double> device;       // device_to_device
  std::optional<double> peer;
  double warn_margin = 0.05;       // a figure below floor * (1 + margin) warns
  double outlier_fraction = 0.75;  // below fraction * median of its kind fails (3+ figures)
};

// The floor a copy is held to, if any.
std::optional<double> FloorOf(const Copy& copy, const CopyFloors& floors);
// Any figure below its floor or an outlier: reason to run once more before judging.
bool AnyLow(const std::vector<Copy>& copies, const CopyFloors& floors);
// The better figure of each (direction, gpu, peer) across two runs.
std::vector<Copy> BestOf(const std::vector<Copy>& first, const std::vector<Copy>& second);

// Findings (gpu_copy_bandwidth_low, gpu_peer_bandwidth_low). `clocks` is added to the evidence
// ("SM 1980 MHz, memory 2619 MHz" per GPU), since locked or unlocked clocks change the figures.
std::vector<Finding> JudgeCopies(const std::vector<Copy>& copies, const CopyFloors& floors,
                                 const std::vector<Device>& devices);

// gpu_copy_bandwidth_bytes_per_second{gpu,direction}, gpu_peer_bandwidth_bytes_per_second
// {gpu,peer}.
std::vector<Measurement> CopyMeasurements(const std::vector<Copy>& copies);

// "52.31 GB/s".
std::string GigabytesPerSecond(double bytes_per_second);

}  // namespace nodehealth::gpu_worker
