#include "probes/finding_catalog.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "probes/all_probes.h"

namespace nodehealth {
namespace {

// docs/contract.md "Finding codes": stable, append-only. This list is the contract's, in its order.
const std::vector<std::string> kContractCodes = {"gpu_missing",
                                                 "gpu_lost",
                                                 "gpu_driver_not_loaded",
                                                 "gpu_driver_library_mismatch",
                                                 "gpu_driver_version_mismatch",
                                                 "cuda_version_mismatch",
                                                 "gpu_ecc_uncorrectable",
                                                 "gpu_row_remap_pending",
                                                 "gpu_row_remap_failure",
                                                 "gpu_pcie_link_degraded",
                                                 "gpu_nvlink_down",
                                                 "gpu_xid",
                                                 "ib_hca_missing",
                                                 "ib_port_down",
                                                 "ib_port_rate_degraded",
                                                 "ib_port_errors",
                                                 "ib_link_flapping",
                                                 "rdma_loopback_failed",
                                                 "rdma_loopback_bandwidth_low",
                                                 "mpi_allreduce_failed",
                                                 "mpi_allreduce_wrong_result",
                                                 "mpi_allreduce_bandwidth_low",
                                                 "topology_mismatch",
                                                 "pcie_link_degraded",
                                                 "probe_timeout",
                                                 "probe_error"};

TEST(FindingCatalogTest, StartsWithTheContractCodesInOrder) {
  auto catalog = FindingCatalog();
  ASSERT_GE(catalog.size(), kContractCodes.size());
  for (std::size_t i = 0; i < kContractCodes.size(); ++i) {
    EXPECT_EQ(catalog[i].code, kContractCodes[i]) << i;
  }
}

TEST(FindingCatalogTest, EveryEntryIsCompleteAndUnique) {
  std::set<std::string_view> seen;
  for (const CatalogEntry& entry : FindingCatalog()) {
    EXPECT_TRUE(seen.insert(entry.code).second) << entry.code;
    EXPECT_FALSE(entry.meaning.empty()) << entry.code;
    EXPECT_FALSE(entry.remedy.empty()) << entry.code;
    // A failing finding takes the node out; a warning does not.
    EXPECT_EQ(entry.severity == Severity::kFail, ImpliesDrain(entry.action)) << entry.code;
  }
}

TEST(FindingCatalogTest, EveryCodeAProbeDeclaresIsCatalogued) {
  for (const auto& probe : AllProbes()) {
    for (std::string_view code : probe->info().codes) {
      EXPECT_NE(FindCatalogEntry(code), nullptr) << probe->info().name << ": " << code;
    }
  }
}

// What the drain policy used to hard-code, now the catalogue's (drain_policy.h).
TEST(FindingCatalogTest, PersistenceAndCategories) {
  std::vector<std::string> sticky, noisy;
  std::map<std::string, std::vector<std::string>> by_category;
  for (const CatalogEntry& entry : FindingCatalog()) {
    if (entry.persistence == DrainPersistence::kSticky) sticky.emplace_back(entry.code);
    if (entry.persistence == DrainPersistence::kNoisy) noisy.emplace_back(entry.code);
    by_category[std::string(ToString(entry.category))].emplace_back(entry.code);
  }
  EXPECT_EQ(sticky, (std::vector<std::string>{"gpu_lost", "gpu_row_remap_failure", "gpu_xid",
                                              "pcie_aer_uncorrectable"}));
  EXPECT_EQ(FindCatalogEntry("gpu_xid")->sticky_from, Action::kResetGpu);
  EXPECT_EQ(FindCatalogEntry("gpu_lost")->sticky_from, Action::kNone);
  EXPECT_EQ(noisy,
            (std::vector<std::string>{
                "ib_port_errors", "rdma_loopback_bandwidth_low", "mpi_allreduce_bandwidth_low",
                "probe_timeout", "probe_error", "gpu_temperature_high", "gpu_clock_slowdown",
                "gpu_copy_failed", "gpu_copy_bandwidth_low", "gpu_peer_bandwidth_low",
                "nccl_allreduce_failed", "nccl_allreduce_bandwidth_low", "pcie_aer_correctable",
                "pcie_link_retrained", "gpu_pcie_replay_rate", "gpu_nvlink_errors",
                "source_disagreement"}));
  EXPECT_EQ(by_category["probe"], (std::vector<std::string>{"probe_timeout", "probe_error"}));
  EXPECT_EQ(
      by_category["node"],
      (std::vector<std::string>{"topology_mismatch", "node_memory_mismatch", "cpu_count_mismatch",
                                "nvme_missing", "pcie_aer_uncorrectable", "pcie_aer_correctable",
                                "pcie_link_retrained", "source_disagreement"}));
  EXPECT_EQ(by_category["network"].size(), 12u);  // ib_*, rdma_*, mpi_*, pcie_link_degraded (HCAs)
  // 19, the GPU burn-in's six, and the grey failures' replay rate, NVLink errors and power cap.
  EXPECT_EQ(by_category["gpu"].size(), 28u);
}

TEST(ActionTest, OrderAndNames) {
  EXPECT_LT(Action::kNone, Action::kMonitor);
  EXPECT_LT(Action::kDrain, Action::kResetGpu);
  EXPECT_LT(Action::kReboot, Action::kReplace);
  EXPECT_FALSE(ImpliesDrain(Action::kMonitor));
  EXPECT_TRUE(ImpliesDrain(Action::kDrain));
  for (Action a : {Action::kNone, Action::kMonitor, Action::kDrain, Action::kResetGpu,
                   Action::kReboot, Action::kReplace}) {
    EXPECT_EQ(ParseAction(ToString(a)), a);
  }
  EXPECT_FALSE(ParseAction("reset").has_value());
}

}  // namespace
}  // namespace nodehealth
