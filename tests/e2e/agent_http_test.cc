// The agent's endpoint end to end (issue 13, items 14, 15, 16): the real `nodehealth agent` on a
// fixture node, a real Prometheus scraping it, all over loopback.
//
//   * 64 slow and hostile clients of every kind (idle, trickling, reconnecting, 404 and 405 on
//     kept-alive connections, oversized heads) hammer the port while Prometheus scrapes every
//     2.5 s and the test's own client asks for /metrics and /healthz on new connections: every
//     scrape and every request must succeed, promptly. (civetweb's four workers failed this.)
//   * kept-alive gzip scrapes do not wait for the client's delayed ACK (civetweb: 44 ms each);
//   * TLS with basic auth from a web config, scraped by Prometheus with its tls_config and
//     basic_auth; wrong password 401, plain HTTP to the TLS port 400, then a web config that
//     requires client certificates taken on SIGHUP;
//   * invalid web configs exit 2 naming the file and the key;
//   * /report without users' process names and PIDs unless configured.
// Tests that need Prometheus skip when it is not installed.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/agent_harness.h"
#include "tests/support/hostile_clients.h"
#include "tests/support/prometheus_server.h"
#include "tests/support/tls_client.h"
#include "tests/support/tls_test_files.h"

namespace nodehealth::testing {
namespace {

// An instant query's single value; NaN when it returned no sample or failed.
double Scalar(const PrometheusServer& prometheus, const std::string& promql) {
  const QueryResult r = prometheus.Query(promql);
  if (!r.ok() || r.samples.size() != 1) return std::nan("");
  return r.samples[0].value;
}

TEST(AgentHttpAbuseTest, PrometheusGetsEveryScrapeWhileSlowClientsHammerThePort) {
  if (!PrometheusServer::Available()) GTEST_SKIP() << "Prometheus is not installed";
  Node node(kAzureScenario);
  AgentDirs dirs;
  AgentProcess agent(node, dirs.state(), dirs.config(),
                     {"--profile", kAzureProfile, "--interval", "5"});
  ASSERT_TRUE(agent.ok()) << agent.error();
  ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();

  // Every 2.5 s, past civetweb's 2 s keep-alive: as with real intervals (15 s, 60 s), most scrapes
  // need a new connection while the hostile clients compete for them. Each must take under 1 s.
  PrometheusOptions options;
  options.targets = {{"nodehealth", agent.host_port()}};
  options.scrape_interval = 2500ms;
  options.scrape_timeout = 1s;
  PrometheusServer prometheus(options);
  ASSERT_TRUE(prometheus.ok()) << prometheus.error();
  TargetStatus target;
  ASSERT_TRUE(prometheus.WaitForTargetHealth("nodehealth", "up", 15s, &target))
      << target.last_error;

  constexpr int kClients = 64;
  constexpr double kLoadSeconds = 17.5;
  const auto load_start = Clock::now();
  int requests = 0, failures = 0;
  double slowest = 0;
  std::string first_failure;
  HostileClients::Counts hostile_counts;
  {
    HostileClients hostile(agent.host_port(), MixedLoad(kClients));
    // The test's own client: a new connection per request, four a second, with a 2 s limit.
    while (SecondsSince(load_start) < kLoadSeconds) {
      for (const char* path : {"/metrics", "/healthz"}) {
        const auto t = Clock::now();
        const HttpResponse r = HttpGet(agent.host_port(), path, 2s);
        const double took = SecondsSince(t);
        ++requests;
        slowest = std::max(slowest, took);
        if (r.status != 200) {
          ++failures;
          if (first_failure.empty()) {
            first_failure = std::string(path) + ": " + std::to_string(r.status) + " " + r.error;
          }
        }
      }
      std::this_thread::sleep_for(250ms);
    }
    hostile_counts = hostile.counts();
  }
  const int window = static_cast<int>(SecondsSince(load_start)) - 1;
  const std::string range = "[" + std::to_string(window) + "s]";
  const double scrapes = Scalar(prometheus, "count_over_time(up{job=\"nodehealth\"}" + range + ")");
  const double scrapes_up =
      Scalar(prometheus, "sum_over_time(up{job=\"nodehealth\"}" + range + ")");
  const double longest =
      Scalar(prometheus, "max_over_time(scrape_duration_seconds{job=\"nodehealth\"}" + range + ")");
  const std::string metrics = agent.Metrics();
  std::cout << "[ abuse    ] " << kClients << " hostile clients for " << window << " s: Prometheus "
            << scrapes_up << " of " << scrapes << " scrapes up, longest scrape " << longest * 1000
            << " ms; own client " << requests - failures << " of " << requests
            << " requests answered, slowest " << slowest * 1000 << " ms; hostile connections "
            << hostile_counts.connections << ", answers to them " << hostile_counts.responses
            << "\n"
            << LinesWith(metrics, "nodehealth_http_connections_closed_total");

  EXPECT_EQ(failures, 0) << first_failure;
  EXPECT_LT(slowest, 1.0);
  EXPECT_GE(scrapes, 5.0);  // one every 2.5 s
  EXPECT_EQ(scrapes_up, scrapes) << "Prometheus lost scrapes";
  EXPECT_LT(longest, 0.5);
  // The load was real: the agent cut idle and trickling clients off and answered the others.
  EXPECT_GT(hostile_counts.connections, 2u * kClients);
  EXPECT_GT(hostile_counts.responses, 100u);
  EXPECT_GT(
      Value(metrics, "nodehealth_http_connections_closed_total", {{"reason", "request_timeout"}})
          .value_or(0),
      10.0);
  EXPECT_GT(Value(metrics, "nodehealth_http_connections_closed_total", {{"reason", "bad_request"}})
                .value_or(0),
            10.0);
  EXPECT_TRUE(agent.process().Running()) << agent.Tail();
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
}

TEST(AgentHttpAbuseTest, KeptAliveGzipScrapesDoNotWaitForDelayedAcks) {
  // A response written as head and body apart, without TCP_NODELAY, waits for the client's
  // delayed ACK (40 ms on Linux) on every kept-alive scrape after the first: 44 ms at the median
  // under civetweb. bench/README.md has the figures; this only guards the cause.
  Node node(kAzureScenario);
  AgentDirs dirs;
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile});
  ASSERT_TRUE(agent.ok()) << agent.error();
  ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();
  KeptAliveConnection connection(agent.host_port());
  ASSERT_TRUE(connection.ok()) << connection.error();
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: " + agent.host_port() +
                              "\r\nUser-Agent: Prometheus/2.42.0\r\nAccept-Encoding: gzip\r\n\r\n";
  std::vector<double> took;
  for (int i = 0; i < 41; ++i) {
    const auto t = Clock::now();
    const HttpResponse r = connection.Exchange(request, 5s);
    ASSERT_EQ(r.status, 200) << r.error;
    ASSERT_EQ(r.headers.at("content-encoding"), "gzip");
    if (i > 0) took.push_back(SecondsSince(t) * 1000);  // the first is on a fresh connection
  }
  std::sort(took.begin(), took.end());
  std::cout << "[ latency  ] kept-alive gzip scrapes: median " << took[took.size() / 2]
            << " ms, max " << took.back() << " ms\n";
  EXPECT_LT(took[took.size() / 2], 20.0);
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
}

// --- TLS and basic authentication -----------------------------------------------------------

class AgentSecureEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = MakeTestPki(dirs_.dir.path());
    ASSERT_TRUE(pki_.ok()) << pki_.error;
    hash_ = BcryptHash(kPassword, 10);
    ASSERT_FALSE(hash_.empty());
  }
  std::string WriteWebConfig(const std::string& extra_tls = "") {
    const std::string path = dirs_.dir.path() + "/web.yml";
    const std::string temp = path + ".tmp";
    WriteFile(temp, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n" +
                        extra_tls + "basic_auth_users:\n  prometheus: " + hash_ + "\n");
    std::filesystem::rename(temp, path);
    return path;
  }
  std::map<std::string, std::string> Credentials(const std::string& password = kPassword) {
    return {{"Authorization", BasicAuthorization("prometheus", password)}};
  }
  static constexpr char kPassword[] = "scrape-pass";
  Node node_{kAzureScenario};
  AgentDirs dirs_;
  TestPki pki_;
  std::string hash_;
};

TEST_F(AgentSecureEndpointTest, PrometheusScrapesOverTlsWithBasicAuth) {
  if (!PrometheusServer::Available()) GTEST_SKIP() << "Prometheus is not installed";
  const std::string web = WriteWebConfig();
  AgentProcess agent(node_, dirs_.state(), dirs_.config(),
                     {"--profile", kAzureProfile, "--web-config", web});
  ASSERT_TRUE(agent.ok()) << agent.error();
  const TlsClientOptions verified{.ca_file = pki_.ca_cert};

  PrometheusOptions options;
  ScrapeTarget good{.job_name = "nodehealth", .host_port = agent.host_port()};
  good.scheme = "https";
  good.ca_file = pki_.ca_cert;
  good.cert_file = pki_.client_cert;  // sent only once the agent asks for one (below)
  good.key_file = pki_.client_key;
  good.username = "prometheus";
  good.password = kPassword;
  ScrapeTarget wrong = good;
  wrong.job_name = "wrong_password";
  wrong.password = "guess";
  ScrapeTarget plain{.job_name = "plain_http", .host_port = agent.host_port()};
  options.targets = {good, wrong, plain};
  PrometheusServer prometheus(options);
  ASSERT_TRUE(prometheus.ok()) << prometheus.error();

  TargetStatus status;
  ASSERT_TRUE(prometheus.WaitForTargetHealth("nodehealth", "up", 20s, &status))
      << status.last_error << "\n"
      << agent.Tail();
  EXPECT_EQ(status.scrape_url, "https://" + agent.host_port() + "/metrics");
  const QueryResult gpus = prometheus.WaitForQuery(
      "nodehealth_gpus{job=\"nodehealth\",source=\"nvml\"}",
      [](const std::vector<Sample>& s) { return s.size() == 1 && s[0].value == 8; }, 20s);
  EXPECT_TRUE(gpus.ok()) << gpus.error;
  ASSERT_TRUE(prometheus.WaitForTargetHealth("wrong_password", "down", 20s, &status));
  EXPECT_EQ(status.last_error, "server returned HTTP status 401 Unauthorized");
  ASSERT_TRUE(prometheus.WaitForTargetHealth("plain_http", "down", 20s, &status));
  EXPECT_EQ(status.last_error, "server returned HTTP status 400 Bad Request");

  // The same by hand: no credentials, a wrong one, the right one; plain HTTP.
  TlsResponse r = TlsGet(agent.host_port(), "/metrics", verified);
  EXPECT_EQ(r.status, 401) << r.error;
  EXPECT_EQ(r.headers["www-authenticate"], "Basic realm=\"nodehealth\"");
  r = TlsGet(agent.host_port(), "/healthz", verified, Credentials("guess"));
  EXPECT_EQ(r.status, 401) << r.error;
  r = TlsGet(agent.host_port(), "/healthz", verified, Credentials());
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "ok\n");
  const HttpResponse plain_answer = HttpGet(agent.host_port(), "/metrics");
  EXPECT_EQ(plain_answer.status, 400);
  EXPECT_EQ(plain_answer.body, "nodehealth: this port expects TLS (https://)\n");

  // Prometheus' scrapes pay bcrypt once: the checks run are the failures plus a handful.
  const QueryResult scraped = prometheus.WaitForQuery(
      "sum_over_time(up{job=\"nodehealth\"}[1h])",
      [](const std::vector<Sample>& s) { return s.size() == 1 && s[0].value >= 5; }, 20s);
  ASSERT_TRUE(scraped.ok()) << scraped.error;
  r = TlsGet(agent.host_port(), "/metrics", verified, Credentials());
  ASSERT_EQ(r.status, 200) << r.error;
  const std::vector<Series> series = ParseMetrics(r.body);
  const double checks = Value(series, "nodehealth_http_basic_auth_checks_total").value_or(-1);
  const double denied =
      Value(series, "nodehealth_http_responses_total", {{"code", "401"}}).value_or(-1);
  EXPECT_GE(checks, 1);
  EXPECT_LE(checks, denied + 2) << LinesWith(r.body, "nodehealth_http");

  // SIGHUP with a web config that requires client certificates signed by the test CA.
  WriteWebConfig("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n");
  ASSERT_TRUE(agent.process().Signal(SIGHUP));
  const auto reload_by = Clock::now() + 10s;
  do {
    r = TlsGet(agent.host_port(), "/healthz", verified, Credentials());
    if (r.handshake_failed) break;
    std::this_thread::sleep_for(50ms);
  } while (Clock::now() < reload_by);
  EXPECT_TRUE(r.handshake_failed) << "still answered without a client certificate: " << r.status;
  r = TlsGet(
      agent.host_port(), "/healthz",
      {.ca_file = pki_.ca_cert, .cert_file = pki_.stranger_cert, .key_file = pki_.stranger_key},
      Credentials());
  EXPECT_TRUE(r.handshake_failed) << "a certificate from another CA was accepted";
  r = TlsGet(agent.host_port(), "/healthz",
             {.ca_file = pki_.ca_cert, .cert_file = pki_.client_cert, .key_file = pki_.client_key},
             Credentials());
  EXPECT_EQ(r.status, 200) << r.error;
  // Prometheus, which has the client certificate, keeps scraping.
  const double up_before = Scalar(prometheus, "count_over_time(up{job=\"nodehealth\"}[1h])");
  std::this_thread::sleep_for(2500ms);
  ASSERT_TRUE(prometheus.WaitForTargetHealth("nodehealth", "up", 5s, &status));
  EXPECT_EQ(status.last_error, "");
  EXPECT_GE(Scalar(prometheus, "count_over_time(up{job=\"nodehealth\"}[1h])"), up_before + 2);
  EXPECT_EQ(Scalar(prometheus, "min_over_time(up{job=\"nodehealth\"}[2s])"), 1.0);
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
}

TEST_F(AgentSecureEndpointTest, InvalidWebConfigsExit2NamingFileAndKey) {
  const std::string web = dirs_.dir.path() + "/bad.yml";
  struct Case {
    std::string yaml;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: []\n",
       "web config " + web +
           ":4: \"tls_server_config.cipher_suites\": is not supported by "
           "nodehealth (OpenSSL's defaults are used)"},
      {"tls_server_config:\n  cert_file: nothing.crt\n  key_file: server.key\n",
       "web config " + web + ": tls_server_config.cert_file (" + dirs_.dir.path() +
           "/nothing.crt): cannot open file " + dirs_.dir.path() +
           "/nothing.crt: No such file or directory"},
      {"basic_auth_users:\n  prometheus: plaintext\n",
       "web config " + web +
           ":2: \"basic_auth_users.prometheus\": is not a bcrypt hash ($2a$, "
           "$2b$ or $2y$, e.g. from `htpasswd -nBC 10 \"\"`)"},
      {"basic_auth_users: " + std::string(50000, '[') + "\n",
       "web config " + web +
           ": more than 16 flow collections ('[' or '{'); a web config needs "
           "none"},
  };
  for (const Case& c : cases) {
    WriteFile(web, c.yaml);
    BackgroundProcess agent(
        {NODEHEALTH_BINARY, "agent", "--sysroot", node_.root(), "--nvml-library",
         NODEHEALTH_FAKE_NVML_LIBRARY, "--listen", "127.0.0.1:0", "--state-dir", dirs_.state(),
         "--config", dirs_.config(), "--web-config", web},
        {{"NODEHEALTH_FAKE_NVML", node_.scenario()}});
    EXPECT_EQ(agent.WaitExit(10s), 2) << c.yaml << agent.OutputTail();
    EXPECT_NE(agent.Stderr().find("nodehealth agent: " + c.message + "\n"), std::string::npos)
        << agent.Stderr();
  }
  // The config file's key, and a missing web config.
  WriteFile(dirs_.config(), "[agent]\nweb_config = \"" + dirs_.dir.path() + "/absent.yml\"\n");
  BackgroundProcess agent({NODEHEALTH_BINARY, "agent", "--sysroot", node_.root(), "--nvml-library",
                           NODEHEALTH_FAKE_NVML_LIBRARY, "--listen", "127.0.0.1:0", "--state-dir",
                           dirs_.state(), "--config", dirs_.config()},
                          {{"NODEHEALTH_FAKE_NVML", node_.scenario()}});
  EXPECT_EQ(agent.WaitExit(10s), 2) << agent.OutputTail();
  EXPECT_NE(agent.Stderr().find("nodehealth agent: cannot open web config " + dirs_.dir.path() +
                                "/absent.yml: No such file or directory\n"),
            std::string::npos)
      << agent.Stderr();
}

// --- what /report shows -----------------------------------------------------------------------

TEST(AgentReportTest, ProcessNamesAndPidsOnlyWhenConfigured) {
  for (const bool keep : {false, true}) {
    Node node(kAzureScenario);
    AgentDirs dirs;
    if (keep) WriteFile(dirs.config(), "[agent]\nreport_process_names = true\n");
    AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile});
    ASSERT_TRUE(agent.ok()) << agent.error();
    ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();
    const std::string bus_id = node.NvidiaGpus().front();
    const auto [seq, usec] = node.LastKmsgRecord();
    const std::string pci = bus_id.substr(0, bus_id.rfind('.'));
    AppendToFile(node.kmsg(), "3," + std::to_string(seq + 1) + "," + std::to_string(usec + 1000) +
                                  ",-;NVRM: Xid (PCI:" + pci +
                                  "): 31, pid=48213, name=secret_job.py, Ch 00000008, intr "
                                  "10000000. MMU Fault: ENGINE GRAPHICS GPCCLIENT_T1_0\n");
    std::string report;
    const auto deadline = Clock::now() + 10s;
    do {
      report = agent.Get("/report").body;
      if (report.find("): 31, pid=") != std::string::npos) break;
      std::this_thread::sleep_for(50ms);
    } while (Clock::now() < deadline);
    ASSERT_NE(report.find("): 31, pid="), std::string::npos) << "the XID never reached /report";
    EXPECT_EQ(report.find("secret_job.py") != std::string::npos, keep);
    EXPECT_EQ(report.find("48213") != std::string::npos, keep);
    if (!keep) {
      EXPECT_NE(report.find("): 31, pid=<redacted>, name=<redacted>, Ch 00000008"),
                std::string::npos);
    }
    EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
  }
}

}  // namespace
}  // namespace nodehealth::testing
