// The harness of the agent's end-to-end tests: a fixture node on disk, the real `nodehealth agent`
// started on it with the fake NVML (port 0, the port read from its stderr), a parser for /metrics
// pages, and kmsg records to append. Shared by agent_e2e_test.cc and agent_nvml_events_test.cc.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/background_process.h"
#include "tests/support/fixture_node.h"
#include "tests/support/http_client.h"

namespace nodehealth::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using Labels = std::map<std::string, std::string>;

inline constexpr char kAzureScenario[] = "azure-nd96isr-h100-v5.toml";
inline constexpr char kAzureProfile[] = "azure-nd96isr-h100-v5";

// A string literal with its embedded NULs (without the terminating one).
template <std::size_t N>
inline std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// Appends `bytes` to `path` with one O_APPEND write per chunk, the way the kernel adds records.
inline void AppendToFile(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_GE(fd, 0) << "cannot open " << path;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  ASSERT_EQ(done, bytes.size()) << "short write to " << path;
}

// --- /metrics text ------------------------------------------------------------------------

struct Series {
  std::string name;
  Labels labels;
  double value = 0;
};

// Parses exposition text (comments skipped); a malformed line ends the parse of that line only.
inline std::vector<Series> ParseMetrics(const std::string& text) {
  std::vector<Series> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Series s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const std::size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') break;
        const std::string key = line.substr(i, eq - i);
        std::string value;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i < line.size() && line[i] == '}') ++i;
    }
    while (i < line.size() && line[i] == ' ') ++i;
    s.value = std::strtod(line.c_str() + i, nullptr);
    out.push_back(std::move(s));
  }
  return out;
}

// The series `name` whose labels are exactly `labels`; nullopt when absent.
inline std::optional<double> Value(const std::vector<Series>& all, const std::string& name,
                                   const Labels& labels = {}) {
  for (const Series& s : all) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  return std::nullopt;
}
inline std::optional<double> Value(const std::string& text, const std::string& name,
                                   const Labels& labels = {}) {
  return Value(ParseMetrics(text), name, labels);
}

// Every series of `name` that carries all of `subset`.
inline std::vector<Series> Matching(const std::vector<Series>& all, const std::string& name,
                                    const Labels& subset = {}) {
  std::vector<Series> out;
  for (const Series& s : all) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : subset) {
      auto it = s.labels.find(k);
      match = match && it != s.labels.end() && it->second == v;
    }
    if (match) out.push_back(s);
  }
  return out;
}

// The lines of `text` that mention `needle` (failure messages without the 1000-line page).
inline std::string LinesWith(const std::string& text, const std::string& needle) {
  std::string out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(needle) != std::string::npos && line[0] != '#') out += line + "\n";
  }
  return out.empty() ? "(no line with " + needle + ")" : out;
}

// --- the fixture node and the agent --------------------------------------------------------

// A scenario materialised in a temporary directory (FixtureNode without the in-process probes).
class Node {
 public:
  explicit Node(const std::string& scenario_file) : scenario_(ScenarioPath(scenario_file)) {
    Expected<bool> written = MaterializeNode(scenario_, dir_.path());
    if (!written) {
      ADD_FAILURE() << "cannot build " << scenario_file << ": " << written.error().message;
    }
    original_kmsg_ = ReadFile(kmsg());
  }
  const std::string& root() const { return dir_.path(); }
  const std::string& scenario() const { return scenario_; }
  std::string kmsg() const { return dir_.path() + "/dev/kmsg"; }
  const std::string& original_kmsg() const { return original_kmsg_; }

  // NVIDIA display/3D controllers on PCI, "0000:53:00.0" form, sorted.
  std::vector<std::string> NvidiaGpus() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& entry :
         std::filesystem::directory_iterator(root() + "/sys/bus/pci/devices", ec)) {
      const std::string dir = entry.path().string();
      const std::string vendor = ReadFile(dir + "/vendor");
      const std::string cls = ReadFile(dir + "/class");
      if (vendor.rfind("0x10de", 0) == 0 &&
          (cls.rfind("0x0302", 0) == 0 || cls.rfind("0x0300", 0) == 0)) {
        out.push_back(entry.path().filename().string());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // The highest sequence number and timestamp (usec) among the kmsg records now in the file.
  std::pair<uint64_t, uint64_t> LastKmsgRecord() const {
    uint64_t seq = 0;
    uint64_t usec = 0;
    std::istringstream in(ReadFile(kmsg()));
    std::string line;
    while (std::getline(in, line)) {
      unsigned prio = 0;
      unsigned long long s = 0;
      unsigned long long t = 0;
      if (std::sscanf(line.c_str(), "%u,%llu,%llu,", &prio, &s, &t) == 3) {
        seq = std::max<uint64_t>(seq, s);
        usec = std::max<uint64_t>(usec, t);
      }
    }
    return {seq, usec};
  }

 private:
  std::string scenario_;
  TempDir dir_;
  std::string original_kmsg_;
};

// A kmsg record of the NVIDIA driver's XID message for `bus_id` ("0000:53:00.0").
inline std::string XidRecord(uint64_t seq, uint64_t usec, const std::string& bus_id, int xid,
                             const std::string& text) {
  const std::string pci = bus_id.substr(0, bus_id.rfind('.'));  // "0000:53:00"
  return "2," + std::to_string(seq) + "," + std::to_string(usec) + ",-;NVRM: Xid (PCI:" + pci +
         "): " + std::to_string(xid) + ", pid='<unknown>', name=<unknown>, " + text + "\n";
}

// `nodehealth agent` on a node: started by the constructor, which waits for the port line.
class AgentProcess {
 public:
  AgentProcess(const Node& node, const std::string& state_dir, const std::string& config_path,
               const std::vector<std::string>& extra_args,
               const std::map<std::string, std::string>& extra_env = {}) {
    std::vector<std::string> argv = {NODEHEALTH_BINARY, "agent",
                                     "--sysroot",       node.root(),
                                     "--nvml-library",  NODEHEALTH_FAKE_NVML_LIBRARY,
                                     "--listen",        "127.0.0.1:0",
                                     "--config",        config_path};
    // Empty: the agent's own default (SYSROOT/var/lib/nodehealth under --sysroot).
    if (!state_dir.empty()) argv.insert(argv.end(), {"--state-dir", state_dir});
    // One passive round a second unless the test chose its own interval.
    if (std::find(extra_args.begin(), extra_args.end(), "--interval") == extra_args.end()) {
      argv.insert(argv.end(), {"--interval", "1"});
    }
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    std::map<std::string, std::string> env = extra_env;
    env["NODEHEALTH_FAKE_NVML"] = node.scenario();
    process_ = std::make_unique<BackgroundProcess>(argv, env);
    if (!process_->started()) {
      error_ = "cannot start the agent: " + process_->error();
      return;
    }
    const std::string marker = "nodehealth agent: listening on port ";
    const auto deadline = Clock::now() + 15s;
    while (Clock::now() < deadline) {
      const std::string err = process_->Stderr();
      const std::size_t at = err.find(marker);
      if (at != std::string::npos && err.find('\n', at) != std::string::npos) {
        port_ = std::atoi(err.c_str() + at + marker.size());
        break;
      }
      if (!process_->Running()) break;
      std::this_thread::sleep_for(5ms);
    }
    if (port_ <= 0) error_ = "the agent did not print its port\n" + process_->OutputTail();
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  std::string host_port() const { return LoopbackHostPort(port_); }
  BackgroundProcess& process() { return *process_; }
  std::string Tail() const { return process_->OutputTail(); }

  HttpResponse Get(const std::string& path, std::chrono::milliseconds timeout = 5s) const {
    return HttpGet(host_port(), path, timeout);
  }
  std::string Metrics() const {
    HttpResponse r = Get("/metrics");
    return r.status == 200 ? r.body : std::string();
  }
  // Polls /report until it answers 200 (the first round ended): its JSON, or null at `timeout`.
  json WaitForReport(std::chrono::milliseconds timeout) const {
    const auto deadline = Clock::now() + timeout;
    do {
      HttpResponse r = Get("/report", 2s);
      if (r.status == 200) return json::parse(r.body, nullptr, false);
      std::this_thread::sleep_for(10ms);
    } while (Clock::now() < deadline);
    return json();
  }
  // Polls /metrics until `predicate(series)` holds; the last page's text either way.
  bool WaitForMetrics(const std::function<bool(const std::vector<Series>&)>& predicate,
                      std::chrono::milliseconds timeout, std::string* last = nullptr) const {
    const auto deadline = Clock::now() + timeout;
    do {
      const std::string text = Metrics();
      if (last) *last = text;
      if (!text.empty() && predicate(ParseMetrics(text))) return true;
      std::this_thread::sleep_for(10ms);
    } while (Clock::now() < deadline);
    return false;
  }
  // SIGTERM, up to 10 s to exit: its exit status.
  int Stop() { return process_->Stop(10s); }

 private:
  std::unique_ptr<BackgroundProcess> process_;
  int port_ = -1;
  std::string error_;
};

// A private state dir and config file beside the node.
struct AgentDirs {
  ScopedTempDir dir{"nodehealth-agent-e2e"};
  std::string state() const { return dir.path() + "/state"; }
  std::string config() const { return dir.path() + "/nodehealth.toml"; }
  AgentDirs() {
    std::filesystem::create_directories(state());
    WriteFile(config(), "# empty: the agent's defaults\n");
  }
};

inline const json* FindReason(const json& drain, const std::string& code,
                              const std::string& entity) {
  if (!drain.contains("reasons") || !drain["reasons"].is_array()) return nullptr;
  for (const json& r : drain["reasons"]) {
    if (r.value("code", "") == code && r.value("entity", "") == entity) return &r;
  }
  return nullptr;
}

// Appends an XID 79 record for `bus_id` and measures, by polling /metrics every 10 ms, when its
// counter reaches 1 and when the drain decision says 1 (seconds; negative: not within 3 s).
struct XidLatency {
  double to_metric = -1;
  double to_drain = -1;
  uint64_t sequence = 0;
  std::string last_metrics;
};
inline XidLatency AppendXid79AndMeasure(const Node& node, const AgentProcess& agent,
                                        const std::string& bus_id) {
  XidLatency out;
  const auto [seq, usec] = node.LastKmsgRecord();
  out.sequence = seq + 1;
  const std::string record =
      XidRecord(out.sequence, usec + 1000000, bus_id, 79, "GPU has fallen off the bus.");
  AppendToFile(node.kmsg(), record);
  const auto start = Clock::now();
  while (SecondsSince(start) < 3.0 && (out.to_metric < 0 || out.to_drain < 0)) {
    const std::string text = agent.Metrics();
    const double now = SecondsSince(start);
    const std::vector<Series> all = ParseMetrics(text);
    if (out.to_metric < 0 &&
        Value(all, "nodehealth_gpu_xid_events_total", {{"gpu", bus_id}, {"xid", "79"}}) == 1.0) {
      out.to_metric = now;
    }
    if (out.to_drain < 0 && Value(all, "nodehealth_drain_recommended") == 1.0) out.to_drain = now;
    out.last_metrics = text;
    std::this_thread::sleep_for(10ms);
  }
  return out;
}

}  // namespace nodehealth::testing
