// Which of nodehealth's finding codes a cloud takes as a node report, and under which category:
// Azure Guest Health Reporting's impact categories (learn.microsoft.com/azure/azure-impact-
// reporting/guest-health-impact-categories; the same mapping Azure's own health checks use,
// azurehpc-health-checks triggerGHR/config/nhc_fault_dictionary.cfg) and Google Cloud's
// reportHostAsFaulty fault behaviours (PERFORMANCE, SILENT_DATA_CORRUPTION,
// UNRECOVERABLE_GPU_ERROR; cloud.google.com/compute/docs/reference/rest/v1/instances/
// reportHostAsFaulty).
//
// Only hardware faults have a category. Software faults (driver or CUDA versions, a driver not
// loaded, the fabric manager, topology or configuration differences), probe failures and warnings
// have none: no cloud can repair them, so they are never reported. `automatic` marks the codes the
// agent may report on its own, once the drain policy holds them as sticky hard faults; the others
// (bandwidth and error-counter codes, which the policy treats as noisy) only when an operator
// names them to `nodehealth provider-report --code`.
//
// Thread safety: pure functions over static tables.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nodehealth::provider {

struct ProviderCategory {
  std::string azure;  // "Resource.Hpc.Unhealthy.XID79FallenOffBus"
  std::string gcp;    // "UNRECOVERABLE_GPU_ERROR"
  bool automatic = false;
};

// The category of a finding `code` (with the XID number of a gpu_xid finding, 0 otherwise), or
// nullopt when the code is never reported to a cloud.
std::optional<ProviderCategory> CategoryOf(std::string_view code, int xid);

// The XID number a gpu_xid finding's message names ("XID 79 (...) on ...", or "fallen off the
// bus", which is XID 79), 0 when it names none.
int XidOfMessage(std::string_view message);

}  // namespace nodehealth::provider
