// Scrapes under slow-client load (bench/README.md, "The agent's endpoint under abuse"): a real
// Prometheus scrapes an agent that is already running while hostile clients
// (tests/support/hostile_clients.h) hammer its port, and a client of the benchmark's own asks for
// /metrics on a new connection four times a second. Prints what Prometheus recorded (scrapes,
// scrapes up, the longest and the 99th percentile of scrape_duration_seconds) and what the own
// client saw.
//
//   http_endpoint_bench HOST:PORT [--seconds 30] [--clients 64] [--interval-ms 1000]
//                       [--https --ca FILE --user NAME --password TEXT]
//
// With --https, Prometheus scrapes over TLS with basic auth, the own client too, and the hostile
// mix adds clients that stall TLS handshakes. Exit status 1 when a scrape or a request failed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/hostile_clients.h"
#include "tests/support/http_client.h"
#include "tests/support/prometheus_server.h"
#include "tests/support/tls_client.h"

using namespace nodehealth::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double Scalar(const PrometheusServer& prometheus, const std::string& promql) {
  const QueryResult r = prometheus.Query(promql);
  return r.ok() && r.samples.size() == 1 ? r.samples[0].value : std::nan("");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: http_endpoint_bench HOST:PORT [--seconds N] [--clients N] "
                 "[--interval-ms N] [--https --ca FILE --user NAME --password TEXT]\n";
    return 2;
  }
  const std::string host_port = argv[1];
  int seconds = 30, clients = 64, interval_ms = 1000;
  bool https = false;
  std::string ca, user, password;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--seconds")
      seconds = std::atoi(next().c_str());
    else if (a == "--clients")
      clients = std::atoi(next().c_str());
    else if (a == "--interval-ms")
      interval_ms = std::atoi(next().c_str());
    else if (a == "--https")
      https = true;
    else if (a == "--ca")
      ca = next();
    else if (a == "--user")
      user = next();
    else if (a == "--password")
      password = next();
  }
  if (!PrometheusServer::Available()) {
    std::cerr << "Prometheus is not installed (" << kPrometheusBinary << ")\n";
    return 2;
  }
  PrometheusOptions options;
  ScrapeTarget target{.job_name = "nodehealth", .host_port = host_port};
  if (https) {
    target.scheme = "https";
    target.ca_file = ca;
    target.username = user;
    target.password = password;
  }
  options.targets = {target};
  options.scrape_interval = std::chrono::milliseconds(interval_ms);
  options.scrape_timeout = std::min(std::chrono::milliseconds(interval_ms), 1000ms);
  PrometheusServer prometheus(options);
  if (!prometheus.ok()) {
    std::cerr << prometheus.error() << "\n";
    return 2;
  }
  TargetStatus status;
  if (!prometheus.WaitForTargetHealth("nodehealth", "up", 20s, &status)) {
    std::cerr << "the target is not up: " << status.last_error << "\n";
    return 2;
  }

  HostileLoad load = MixedLoad(https ? clients - clients / 7 : clients);
  if (https) load.tls_stall = clients / 7;
  std::vector<double> own;
  int own_failures = 0;
  const auto start = Clock::now();
  HostileClients::Counts counts;
  {
    HostileClients hostile(host_port, load);
    while (Clock::now() - start < std::chrono::seconds(seconds)) {
      const auto t = Clock::now();
      int code = 0;
      if (https) {
        code = TlsGet(host_port, "/metrics", {.ca_file = ca},
                      {{"Authorization", BasicAuthorization(user, password)}}, 2s)
                   .status;
      } else {
        code = HttpGet(host_port, "/metrics", 2s).status;
      }
      own.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
      if (code != 200) ++own_failures;
      std::this_thread::sleep_for(250ms);
    }
    counts = hostile.counts();
  }
  // Appended rather than "[" + to_string(): GCC 12 at -O3 reports a false -Wrestrict on
  // operator+(const char*, string&&) (GCC bug 105329).
  std::string range = "[";
  range.append(std::to_string(seconds)).append("s]");
  const double scrapes = Scalar(prometheus, "count_over_time(up{job=\"nodehealth\"}" + range + ")");
  const double up = Scalar(prometheus, "sum_over_time(up{job=\"nodehealth\"}" + range + ")");
  const double longest =
      Scalar(prometheus, "max_over_time(scrape_duration_seconds{job=\"nodehealth\"}" + range + ")");
  const double p99 =
      Scalar(prometheus,
             "quantile_over_time(0.99, scrape_duration_seconds{job=\"nodehealth\"}" + range + ")");
  const double median =
      Scalar(prometheus,
             "quantile_over_time(0.5, scrape_duration_seconds{job=\"nodehealth\"}" + range + ")");
  std::sort(own.begin(), own.end());
  std::printf(
      "%d hostile clients (idle %d, trickle %d, reconnect %d, 404 %d, 405 %d, oversized %d, "
      "TLS stall %d) for %d s, %d hostile connections\n"
      "Prometheus every %d ms%s: %.0f of %.0f scrapes up; scrape_duration_seconds median %.2f ms, "
      "p99 %.2f ms, max %.2f ms\n"
      "own client (new connection each, 4/s): %zu requests, %d failed; median %.2f ms, max %.2f "
      "ms\n",
      load.total(), load.idle, load.trickle, load.reconnect, load.not_found, load.bad_method,
      load.oversized, load.tls_stall, seconds, static_cast<int>(counts.connections), interval_ms,
      https ? " over TLS with basic auth" : "", up, scrapes, median * 1000, p99 * 1000,
      longest * 1000, own.size(), own_failures, own.empty() ? 0.0 : own[own.size() / 2],
      own.empty() ? 0.0 : own.back());
  return own_failures == 0 && up == scrapes ? 0 : 1;
}
