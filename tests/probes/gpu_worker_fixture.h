// Shared by the gpu_bandwidth and nccl_allreduce probe tests: the real GPU worker
// (nodehealth-gpu-worker) loading the fake libcuda.so.1 and libnccl.so.2 (tests/fakes/cuda, nccl),
// driven by a scenario file written per test, on the h100-vm fixture node (eight H100s whose bus
// ids the scenario repeats, so the worker's GPUs are the node's).
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "tests/support/test_env.h"

namespace nodehealth::testing {

// The h100-vm fixture's GPUs (gpud's nvidia-smi capture), in CUDA ordinal order.
inline const std::vector<std::string> kH100Gpus = {"0000:53:00.0", "0000:64:00.0", "0000:75:00.0",
                                                   "0000:86:00.0", "0000:97:00.0", "0000:a8:00.0",
                                                   "0000:b9:00.0", "0000:ca:00.0"};

// Eight GPU lines (with `gpu_options` on the GPU at `odd`, when >= 0), then `extra` lines.
inline std::string H100Scenario(const std::string& extra = "", int odd = -1,
                                const std::string& gpu_options = "") {
  std::string text = "peer_gbps 360\n";
  for (std::size_t i = 0; i < kH100Gpus.size(); ++i) {
    text += "gpu " + kH100Gpus[i] + (static_cast<int>(i) == odd ? " " + gpu_options : "") + "\n";
  }
  return text + extra;
}

class GpuWorkerTest : public ::testing::Test {
 protected:
  GpuWorkerTest() : node_("h100-vm.toml") {
    scenario_path_ = dir_.path() + "/gpu-scenario.txt";
    profile_.name = "test";
    profile_.gpu.count = 8;
  }
  ~GpuWorkerTest() override { ::unsetenv("NODEHEALTH_FAKE_GPU_SCENARIO"); }

  void Scenario(const std::string& text) {
    std::ofstream(scenario_path_) << text;
    ::setenv("NODEHEALTH_FAKE_GPU_SCENARIO", scenario_path_.c_str(), 1);
  }

  ProbeResult Run(const Probe& probe,
                  std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    ProbeContext context{.fs = node_.fs(),
                         .profile = &profile_,
                         .inventory = node_.inventory(),
                         .deadline = platform::Deadline::In(timeout),
                         .cuda_library = cuda_library_,
                         .nccl_library = nccl_library_};
    return probe.Run(context);
  }

  // Processes (of any name) whose environment names this test's scenario file: workers left
  // behind.
  int WorkersAlive() const {
    int alive = 0;
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return -1;
    const std::string needle = "NODEHEALTH_FAKE_GPU_SCENARIO=" + scenario_path_;
    while (dirent* entry = ::readdir(proc)) {
      if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
      if (std::to_string(::getpid()) == entry->d_name) continue;
      std::ifstream environ(std::string("/proc/") + entry->d_name + "/environ");
      std::stringstream text;
      text << environ.rdbuf();
      std::string line;
      while (std::getline(text, line, '\0')) alive += line == needle;
    }
    ::closedir(proc);
    return alive;
  }

  FixtureNode node_;
  TempDir dir_;
  std::string scenario_path_;
  Profile profile_;
  std::string cuda_library_ = NODEHEALTH_FAKE_CUDA_LIBRARY;
  std::string nccl_library_ = NODEHEALTH_FAKE_NCCL_LIBRARY;
};

// Every finding on one line (for failure messages).
inline std::string Codes(const ProbeResult& r) { return DescribeResult(r); }

}  // namespace nodehealth::testing
