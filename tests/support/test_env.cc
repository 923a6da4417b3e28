#include "tests/support/test_env.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "agent/config/profile_loader.h"

namespace nodehealth::testing {

std::string FakeNvmlLibrary() { return NODEHEALTH_FAKE_NVML_LIBRARY; }
std::string FakeNvmlLegacyLibrary() { return NODEHEALTH_FAKE_NVML_LEGACY_LIBRARY; }
std::string NodehealthBinary() { return NODEHEALTH_BINARY; }
std::string GoldenDir() { return NODEHEALTH_GOLDEN_DIR; }
std::string SourceDir() { return NODEHEALTH_SOURCE_DIR; }

FixtureNode::FixtureNode(const std::string& scenario_name)
    : scenario_(ScenarioPath(scenario_name)), fs_(dir_.path()) {
  Expected<bool> written = MaterializeNode(scenario_, dir_.path());
  if (!written)
    ADD_FAILURE() << "cannot build " << scenario_name << ": " << written.error().message;
  ::setenv("NODEHEALTH_FAKE_NVML", scenario_.c_str(), 1);
  inventory_ = GatherNodeInventory(fs_);
}

ProbeResult FixtureNode::Run(const Probe& probe, const Profile* profile, const std::string& library,
                             std::chrono::milliseconds timeout) const {
  ::setenv("NODEHEALTH_FAKE_NVML", scenario_.c_str(), 1);
  platform::NvmlRuntime nvml(library);
  ProbeContext context{.fs = fs_,
                       .nvml = &nvml,
                       .profile = profile,
                       .inventory = inventory_,
                       .deadline = platform::Deadline::In(timeout)};
  ProbeResult result = probe.Run(context);
  EXPECT_FALSE(nvml.wedged()) << "NVML stuck after " << probe.info().name;
  return result;
}

Profile ShippedProfile(const std::string& name) {
  Expected<Profile> profile = LoadProfileFile(SourceDir() + "/profiles/" + name + ".toml");
  if (!profile) {
    ADD_FAILURE() << profile.error().message;
    return Profile{};
  }
  return *profile;
}

const Finding* FindFinding(const ProbeResult& result, std::string_view code,
                           std::string_view entity) {
  for (const Finding& f : result.findings) {
    if (f.code == code && f.entity == entity) return &f;
  }
  return nullptr;
}

int CountFindings(const ProbeResult& result, std::string_view code) {
  int n = 0;
  for (const Finding& f : result.findings) n += f.code == code ? 1 : 0;
  return n;
}

const Measurement* FindMeasurement(const ProbeResult& result, std::string_view name,
                                   const std::map<std::string, std::string>& labels) {
  for (const Measurement& m : result.measurements) {
    if (m.name != name) continue;
    bool all = true;
    for (const auto& [k, v] : labels) {
      auto it = m.labels.find(k);
      if (it == m.labels.end() || it->second != v) all = false;
    }
    if (all) return &m;
  }
  return nullptr;
}

std::string DescribeResult(const ProbeResult& result) {
  std::string out = std::string(ToString(result.verdict)) + " " + result.error + result.skip_reason;
  for (const Finding& f : result.findings) {
    out += "\n  " + f.code + " " + f.entity + ": " + f.message;
  }
  return out;
}

}  // namespace nodehealth::testing
