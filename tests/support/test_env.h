// Test helpers shared by the probe, golden and command-line tests: a fixture node on disk with
// the fake NVML pointed at its scenario, and the paths CMake passes in.
#pragma once

#include <memory>
#include <string>

#include "probes/gpu_common/node_inventory.h"
#include "probes/platform/file_system.h"
#include "probes/platform/nvml_runtime.h"
#include "probes/probe.h"
#include "probes/profile.h"
#include "tests/support/fixture_node.h"

namespace nodehealth::testing {

std::string FakeNvmlLibrary();        // libnvml_fake.so
std::string FakeNvmlLegacyLibrary();  // libnvml_fake_legacy.so
std::string NodehealthBinary();
std::string GoldenDir();
std::string SourceDir();

// A scenario materialised in a temporary directory, with NODEHEALTH_FAKE_NVML set to it.
class FixtureNode {
 public:
  // Aborts the test (ADD_FAILURE + empty root) when the scenario cannot be built.
  explicit FixtureNode(const std::string& scenario_name);
  const std::string& root() const { return dir_.path(); }
  const std::string& scenario() const { return scenario_; }
  const platform::FileSystem& fs() const { return fs_; }
  const NodeInventory& inventory() const { return inventory_; }

  // Runs `probe` against this node with a fresh NVML runtime on `library` (the fake by default)
  // and the profile (nullptr: observe-only).
  ProbeResult Run(const Probe& probe, const Profile* profile = nullptr,
                  const std::string& library = FakeNvmlLibrary(),
                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  std::string scenario_;
  TempDir dir_;
  platform::RootedFileSystem fs_;
  NodeInventory inventory_;
};

// A shipped profile by name (profiles/<name>.toml); fails the test if it does not load.
Profile ShippedProfile(const std::string& name);

// The finding with `code` on `entity`, or nullptr.
const Finding* FindFinding(const ProbeResult& result, std::string_view code,
                           std::string_view entity);
// The verdict, error or skip reason and every finding on one line each: a failure message that
// shows what the probe did say.
std::string DescribeResult(const ProbeResult& result);
// Number of findings with `code`.
int CountFindings(const ProbeResult& result, std::string_view code);
// The measurement called `name` whose labels include all of `labels`, or nullptr.
const Measurement* FindMeasurement(const ProbeResult& result, std::string_view name,
                                   const std::map<std::string, std::string>& labels = {});

}  // namespace nodehealth::testing
