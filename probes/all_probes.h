// The explicit list of probes, in report order. Adding a probe means adding it here; nothing
// registers itself.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "probes/probe.h"

namespace nodehealth {

// Every probe nodehealth knows, passive and active.
const std::vector<std::unique_ptr<Probe>>& AllProbes();

// What the probes need set once per process, before any thread starts (hwloc reads HWLOC_FSROOT
// from the environment, which is not thread-safe to change): main() and the agent call it with
// the run's --sysroot.
void PrepareProbesForProcess(const std::string& sysroot);

// The probe called `name`, or nullptr.
const Probe* FindProbe(std::string_view name);

// The declaration of measurement `name` (without "nodehealth_") by the probe that measures it,
// or nullptr when no probe declares it.
const MeasurementSpec* FindMeasurementSpec(std::string_view name);

}  // namespace nodehealth
