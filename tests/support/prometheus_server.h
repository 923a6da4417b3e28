// A real Prometheus server (Debian's /usr/bin/prometheus, 2.42) for end-to-end tests: loopback
// only, a fresh TSDB and configuration in a private temporary directory, one scrape job per target,
// and helpers to query it (instant queries, polling, target health). Also promtool's metric lint.
//
// Ownership: the object owns the Prometheus process and its directory; the destructor stops the
// process (SIGTERM, SIGKILL after 5 s) and removes the directory.
// Thread safety: the const query functions are reentrant (one connection each) and may be called
// from several threads; SetTargets() and destruction need exclusive access.
// Failure: nothing throws. A server that does not start or is not ready within the timeout leaves
// ok() false and error() with the reason and the tail of Prometheus's log; query functions report
// failures in their result's `error`. Every call is bounded by a timeout. Tests should
// GTEST_SKIP() when Available() is false.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/background_process.h"

namespace nodehealth::testing {

inline constexpr char kPrometheusBinary[] = "/usr/bin/prometheus";
inline constexpr char kPromtoolBinary[] = "/usr/bin/promtool";

struct ScrapeTarget {
  std::string job_name;
  std::string host_port;  // "127.0.0.1:PORT"
  std::string metrics_path = "/metrics";
  // prometheus.yml's scheme, tls_config and basic_auth; empty: plain HTTP, no credentials.
  std::string scheme = "http";
  std::string ca_file = "";    // tls_config.ca_file
  std::string cert_file = "";  // tls_config.cert_file and key_file: a client certificate
  std::string key_file = "";
  std::string server_name = "";  // tls_config.server_name
  std::string username = "";     // basic_auth
  std::string password = "";
};

struct PrometheusOptions {
  std::vector<ScrapeTarget> targets;
  std::chrono::milliseconds scrape_interval = std::chrono::seconds(1);
  // 0: the scrape interval (Prometheus requires timeout <= interval).
  std::chrono::milliseconds scrape_timeout{0};
  // 0: a free loopback port. Set it to scrape Prometheus itself (the port must be in a target
  // before the server starts): take one from FreeLoopbackPort().
  int listen_port = 0;
  std::chrono::milliseconds ready_timeout = std::chrono::seconds(30);
  std::vector<std::string> extra_args;  // appended to the command line
};

struct Sample {
  std::map<std::string, std::string> labels;  // includes __name__ when the result has it
  double value = 0;
};

struct QueryResult {
  std::vector<Sample> samples;
  std::string error;  // empty on success; Prometheus's "errorType: error" for a bad query
  bool ok() const { return error.empty(); }
};

struct TargetStatus {
  std::string job;
  std::string instance;
  std::string health;  // "up", "down", "unknown" (not scraped yet)
  std::string last_error;
  std::string scrape_url;
};

class PrometheusServer {
 public:
  // Starts Prometheus and waits until /-/ready answers 200 (options.ready_timeout).
  explicit PrometheusServer(PrometheusOptions options);
  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  // Whether /usr/bin/prometheus exists and is executable.
  static bool Available();

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  std::string host_port() const;  // "127.0.0.1:PORT"
  const std::string& config_path() const { return config_path_; }
  BackgroundProcess* process() const { return process_.get(); }  // null if it never started
  std::string LogTail(std::size_t max_bytes = 4096) const;       // Prometheus's own log

  // Instant query (/api/v1/query). Vector and scalar results; a string or matrix is an error.
  QueryResult Query(const std::string& promql,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  // Polls Query() (short intervals) until it succeeds and `predicate` holds: that result. At the
  // timeout: the last result with `error` saying so and showing what it last returned.
  QueryResult WaitForQuery(const std::string& promql,
                           const std::function<bool(const std::vector<Sample>&)>& predicate,
                           std::chrono::milliseconds timeout) const;

  // Active targets by job (/api/v1/targets); empty with `error` set on failure.
  std::map<std::string, TargetStatus> Targets(std::string* error = nullptr) const;
  // Polls until `job`'s target reports `health` ("up"/"down"); false at the timeout. `last`
  // (optional) receives the last status seen.
  bool WaitForTargetHealth(const std::string& job, const std::string& health,
                           std::chrono::milliseconds timeout, TargetStatus* last = nullptr) const;

  // Rewrites the scrape jobs, reloads (SIGHUP) and waits until /api/v1/targets lists exactly
  // these jobs; false with error() unchanged and `why` (optional) set otherwise.
  bool SetTargets(const std::vector<ScrapeTarget>& targets,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10),
                  std::string* why = nullptr);

 private:
  bool WriteConfig(std::string& why) const;

  PrometheusOptions options_;
  ScopedTempDir dir_{"nodehealth-prometheus"};
  std::string config_path_;
  int port_ = -1;
  std::unique_ptr<BackgroundProcess> process_;
  std::string error_;
};

// Formats samples for failure messages: one `{labels} value` per line.
std::string DescribeSamples(const std::vector<Sample>& samples);

// Whether /usr/bin/promtool exists and is executable.
bool PromtoolAvailable();

// `promtool check metrics` on `metrics_text` (exposition text on stdin): its combined output,
// empty when the text is clean. Non-empty when promtool is missing ("promtool not available")
// or fails, so a missing tool is never a pass; check PromtoolAvailable() to skip instead.
std::string PromtoolCheckMetrics(const std::string& metrics_text,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace nodehealth::testing
