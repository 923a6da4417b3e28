// Tests of the end-to-end harness itself (tests/support/{background_process,http_client,
// prometheus_server}.h): a real Prometheus scraping itself, its API and HTTP server seen through
// the client, promtool's lint, and process control. Tests that need Prometheus or promtool skip
// when they are not installed (Debian package 'prometheus').
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/background_process.h"
#include "tests/support/http_client.h"
#include "tests/support/prometheus_server.h"

namespace nodehealth::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// --- Prometheus -----------------------------------------------------------------------------

// One Prometheus for the suite, scraping itself every second as job "self".
class PrometheusHarnessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!PrometheusServer::Available()) return;
    PrometheusOptions options;
    options.listen_port = FreeLoopbackPort();
    options.targets = {{"self", LoopbackHostPort(options.listen_port)}};
    server_ = new PrometheusServer(options);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (!PrometheusServer::Available()) {
      GTEST_SKIP() << "Prometheus is not installed (" << kPrometheusBinary
                   << "; Debian package 'prometheus')";
    }
    ASSERT_TRUE(server_->ok()) << server_->error();
  }
  static PrometheusServer* server_;
};
PrometheusServer* PrometheusHarnessTest::server_ = nullptr;

TEST_F(PrometheusHarnessTest, ScrapesItself) {
  const QueryResult up = server_->WaitForQuery(
      "up{job=\"self\"}",
      [](const std::vector<Sample>& s) { return s.size() == 1 && s[0].value == 1; }, 20s);
  ASSERT_TRUE(up.ok()) << up.error << "\n" << server_->LogTail();
  EXPECT_EQ(up.samples[0].labels.at("instance"), server_->host_port());
  EXPECT_EQ(up.samples[0].labels.at("__name__"), "up");

  TargetStatus self;
  ASSERT_TRUE(server_->WaitForTargetHealth("self", "up", 5s, &self)) << self.health;
  EXPECT_EQ(self.instance, server_->host_port());
  EXPECT_EQ(self.last_error, "");
  EXPECT_EQ(self.scrape_url, "http://" + server_->host_port() + "/metrics");

  // A series from the scraped page itself, with its labels.
  const QueryResult build = server_->Query("prometheus_build_info{job=\"self\"}");
  ASSERT_TRUE(build.ok()) << build.error;
  ASSERT_EQ(build.samples.size(), 1u) << DescribeSamples(build.samples);
  EXPECT_EQ(build.samples[0].labels.at("version").substr(0, 2), "2.");
}

TEST_F(PrometheusHarnessTest, QueryResultsAndErrors) {
  const QueryResult scalar = server_->Query("1 + 1");
  ASSERT_TRUE(scalar.ok()) << scalar.error;
  ASSERT_EQ(scalar.samples.size(), 1u);
  EXPECT_EQ(scalar.samples[0].value, 2);

  const QueryResult empty = server_->Query("nodehealth_no_such_metric");
  ASSERT_TRUE(empty.ok()) << empty.error;
  EXPECT_TRUE(empty.samples.empty());

  const QueryResult bad = server_->Query("up{job=");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.error.find("bad_data"), std::string::npos) << bad.error;
  EXPECT_TRUE(bad.samples.empty());

  // A range vector is not an instant result.
  const QueryResult range = server_->Query("up[1m]");
  EXPECT_FALSE(range.ok());

  // Polling gives up at its timeout and says what it last saw.
  const auto start = Clock::now();
  const QueryResult never = server_->WaitForQuery(
      "vector(1)", [](const std::vector<Sample>&) { return false; }, 300ms);
  EXPECT_FALSE(never.ok());
  EXPECT_NE(never.error.find("timed out"), std::string::npos) << never.error;
  EXPECT_LT(SecondsSince(start), 2.0);
}

TEST_F(PrometheusHarnessTest, HttpAgainstPrometheus) {
  const HttpResponse missing = HttpGet(server_->host_port(), "/nodehealth/no/such/path");
  ASSERT_TRUE(missing.ok()) << missing.error;
  EXPECT_EQ(missing.status, 404);

  // Prometheus's own /metrics is large and streamed: chunked transfer encoding.
  const HttpResponse metrics = HttpGet(server_->host_port(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.error;
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.headers.count("content-encoding"), 0u);
  EXPECT_NE(metrics.body.find("prometheus_build_info{"), std::string::npos);
  EXPECT_EQ(metrics.body.back(), '\n');

  // Garbage: Go answers 400 and closes; the client never waits past its timeout.
  auto start = Clock::now();
  const HttpResponse garbage =
      HttpRaw(server_->host_port(), "\x01\x02 NOT HTTP AT ALL\r\n\r\n", 3s);
  EXPECT_LT(SecondsSince(start), 3.5);
  EXPECT_TRUE((garbage.status >= 400 && garbage.status < 500) ||
              (garbage.status == 0 && !garbage.timed_out))
      << "status " << garbage.status << " error " << garbage.error << " raw " << garbage.raw;

  // A client that sends half a request and waits: the read is bounded by the timeout.
  start = Clock::now();
  const HttpResponse partial =
      HttpRaw(server_->host_port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n", 300ms);
  EXPECT_TRUE(partial.timed_out);
  EXPECT_FALSE(partial.ok());
  EXPECT_LT(SecondsSince(start), 1.5);

  const int fd = ConnectSlowClient(server_->host_port(), "GET / HTTP/1.1\r\n");
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(WaitForPeerClose(fd, 100ms));  // Prometheus has no read timeout by default
  ::close(fd);

  EXPECT_TRUE(WaitForHttp(server_->host_port(), "/-/healthy", 5s));
}

// --- promtool -------------------------------------------------------------------------------

TEST(PromtoolTest, ChecksExpositionText) {
  if (!PromtoolAvailable()) GTEST_SKIP() << "promtool is not installed (" << kPromtoolBinary << ")";
  EXPECT_EQ(PromtoolCheckMetrics("# HELP nodehealth_up Whether it runs.\n"
                                 "# TYPE nodehealth_up gauge\n"
                                 "nodehealth_up 1\n"
                                 "# HELP nodehealth_checks_total Checks run.\n"
                                 "# TYPE nodehealth_checks_total counter\n"
                                 "nodehealth_checks_total{probe=\"gpu_xid\"} 3\n"),
            "");
  const std::string no_total = PromtoolCheckMetrics(
      "# HELP nodehealth_checks Checks run.\n# TYPE nodehealth_checks counter\n"
      "nodehealth_checks 3\n");
  EXPECT_NE(no_total.find("_total"), std::string::npos) << no_total;
  const std::string malformed = PromtoolCheckMetrics("nodehealth_up{probe= 1\n");
  EXPECT_NE(malformed, "");
}

// --- BackgroundProcess ----------------------------------------------------------------------

TEST(BackgroundProcessTest, StopsWithSigterm) {
  BackgroundProcess sleeper({"sleep", "100"});
  ASSERT_TRUE(sleeper.started()) << sleeper.error();
  EXPECT_GT(sleeper.pid(), 0);
  EXPECT_TRUE(sleeper.Running());
  EXPECT_FALSE(sleeper.WaitExit(20ms).has_value());
  EXPECT_GT(sleeper.ResidentBytes(), 0u);
  EXPECT_GE(sleeper.CpuSeconds(), 0);
  const auto start = Clock::now();
  EXPECT_EQ(sleeper.Stop(), 128 + SIGTERM);
  EXPECT_LT(SecondsSince(start), 1.0);
  EXPECT_FALSE(sleeper.Running());
  EXPECT_EQ(sleeper.Stop(), 128 + SIGTERM);  // idempotent
  EXPECT_EQ(sleeper.ResidentBytes(), 0u);
  EXPECT_LT(sleeper.CpuSeconds(), 0);
}

TEST(BackgroundProcessTest, KillsWhatIgnoresSigtermAfterTheGrace) {
  BackgroundProcess stubborn({"sh", "-c", "trap '' TERM; echo ready; sleep 100"});
  ASSERT_TRUE(stubborn.started()) << stubborn.error();
  const auto ready_by = Clock::now() + 5s;
  while (stubborn.Stdout().empty() && Clock::now() < ready_by) std::this_thread::sleep_for(5ms);
  const auto start = Clock::now();
  EXPECT_EQ(stubborn.Stop(200ms), 128 + SIGKILL);
  EXPECT_GE(SecondsSince(start), 0.19);
  EXPECT_LT(SecondsSince(start), 2.0);
}

TEST(BackgroundProcessTest, OutputEnvironmentAndExitCode) {
  BackgroundProcess child(
      {"/bin/sh", "-c", "echo \"out $NODEHEALTH_HARNESS\"; echo err >&2; exit 3"},
      {{"NODEHEALTH_HARNESS", "value"}});
  ASSERT_TRUE(child.started()) << child.error();
  EXPECT_EQ(child.WaitExit(5s), 3);
  EXPECT_EQ(child.Stdout(), "out value\n");
  EXPECT_EQ(child.Stderr(), "err\n");
  EXPECT_NE(child.OutputTail().find("err"), std::string::npos);
  EXPECT_EQ(child.Stop(), 3);

  BackgroundProcess signal({"sleep", "100"});
  ASSERT_TRUE(signal.Signal(SIGINT));
  EXPECT_EQ(signal.WaitExit(5s), 128 + SIGINT);
  EXPECT_FALSE(signal.Signal(SIGINT));

  BackgroundProcess missing({"/nonexistent/nodehealth-no-such-program"});
  EXPECT_FALSE(missing.started());
  EXPECT_NE(missing.error(), "");
  EXPECT_FALSE(missing.Running());
  EXPECT_EQ(missing.Stop(), -1);
}

// --- HTTP client against a canned loopback server -------------------------------------------

// Accepts one connection, reads the request head, writes `reply`, and closes (unless `hold`).
class CannedServer {
 public:
  explicit CannedServer(std::string reply, bool hold = false) : reply_(std::move(reply)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listen_fd_, 4) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this, hold] {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        request.append(buffer, static_cast<std::size_t>(n));
      }
      request_ = request;
      ::send(fd, reply_.data(), reply_.size(), MSG_NOSIGNAL);
      if (hold) {
        while (!done_) std::this_thread::sleep_for(5ms);
      }
      ::close(fd);
    });
  }
  ~CannedServer() {
    done_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);  // ends an accept() that never got a connection
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
  }
  std::string host_port() const { return LoopbackHostPort(port_); }
  // The request it received (read after the exchange).
  std::string request() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  std::string reply_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> done_{false};
  std::string request_;
};

TEST(HttpClientTest, ContentLengthAndRequestHead) {
  CannedServer server(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
      "Set-Cookie: a\r\nSet-Cookie: b\r\n\r\nhello");
  const HttpResponse r = HttpGet(server.host_port(), "/report?x=1", 2s, {{"X-Test", "yes"}});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.headers.at("content-type"), "text/plain");
  EXPECT_EQ(r.headers.at("set-cookie"), "a, b");
  const std::string request = server.request();
  EXPECT_EQ(request.rfind("GET /report?x=1 HTTP/1.1\r\n", 0), 0u) << request;
  EXPECT_NE(request.find("Connection: close\r\n"), std::string::npos) << request;
  EXPECT_NE(request.find("X-Test: yes\r\n"), std::string::npos) << request;
  EXPECT_EQ(request.find("Accept-Encoding"), std::string::npos) << request;
}

TEST(HttpClientTest, ChunkedBody) {
  CannedServer server(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n",
      /*hold=*/true);  // the complete body ends the read, not the connection
  const auto start = Clock::now();
  const HttpResponse r = HttpGet(server.host_port(), "/metrics", 3s);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.body, "hello, world");
  EXPECT_LT(SecondsSince(start), 1.0);
}

TEST(HttpClientTest, BodyDelimitedByClose) {
  CannedServer server("HTTP/1.0 200 OK\r\n\r\nuntil the end");
  const HttpResponse r = HttpGet(server.host_port(), "/", 2s);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.body, "until the end");
}

TEST(HttpClientTest, FailuresAreBoundedAndReported) {
  {
    CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
    const HttpResponse r = HttpGet(server.host_port(), "/", 2s);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.error.find("closed before the end"), std::string::npos) << r.error;
  }
  {
    CannedServer server("", /*hold=*/true);  // reads the request, never answers
    const auto start = Clock::now();
    const HttpResponse r = HttpGet(server.host_port(), "/", 200ms);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.timed_out);
    EXPECT_LT(SecondsSince(start), 1.0);
  }
  {
    CannedServer server("SSH-2.0-OpenSSH\r\n\r\n");
    const HttpResponse r = HttpGet(server.host_port(), "/", 2s);
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.error.find("malformed"), std::string::npos) << r.error;
  }
  const int closed_port = FreeLoopbackPort();
  ASSERT_GT(closed_port, 0);
  const HttpResponse refused = HttpGet(LoopbackHostPort(closed_port), "/", 1s);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.status, 0);
  EXPECT_FALSE(HttpGet("no-port", "/").ok());

  const auto start = Clock::now();
  EXPECT_FALSE(WaitForHttp(LoopbackHostPort(closed_port), "/healthz", 200ms));
  EXPECT_LT(SecondsSince(start), 1.0);
}

TEST(HttpClientTest, SlowClientSeesTheServerClose) {
  CannedServer server("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n");
  const int fd = ConnectSlowClient(server.host_port(), "GET / HTTP/1.1\r\n\r\n");
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(WaitForPeerClose(fd, 2s));
  ::close(fd);
}

TEST(HttpClientTest, Helpers) {
  EXPECT_EQ(UrlEncode("up{job=\"self\"} > 0"), "up%7Bjob%3D%22self%22%7D%20%3E%200");
  EXPECT_EQ(UrlEncode("a-b_c.d~"), "a-b_c.d~");
  const int port = FreeLoopbackPort();
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
  EXPECT_EQ(LoopbackHostPort(9400), "127.0.0.1:9400");
}

}  // namespace
}  // namespace nodehealth::testing
