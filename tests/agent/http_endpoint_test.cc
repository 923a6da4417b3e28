// The agent's endpoint (agent/daemon/http_endpoint.h) in process: what each path answers before and
// after the first round, HEAD, gzip against plain, the endpoint's own counters after the snapshot's
// families, and that the snapshot's text is made once per snapshot.
#include "agent/daemon/http_endpoint.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <mutex>

#include "exporters/metric_families.h"
#include "exporters/status_page.h"
#include "tests/support/http_client.h"

namespace nodehealth::agent {
namespace {

using namespace std::chrono_literals;

std::string Gunzip(const std::string& gz) {
  std::string out(1 << 20, '\0');
  z_stream z{};
  inflateInit2(&z, 16 + MAX_WBITS);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  out.resize(z.total_out);
  inflateEnd(&z);
  return rc == Z_STREAM_END ? out : "(corrupt)";
}

class HttpEndpointServingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Expected<std::unique_ptr<HttpEndpoint>> started =
        HttpEndpoint::Start({.listen = "127.0.0.1:0"}, {.snapshot =
                                                            [this] {
                                                              std::lock_guard lock(mutex_);
                                                              return snapshot_;
                                                            },
                                                        .healthy =
                                                            [this] {
                                                              std::lock_guard lock(mutex_);
                                                              return healthy_;
                                                            }});
    ASSERT_TRUE(started) << started.error().message;
    endpoint_ = std::move(*started);
    host_port_ = "127.0.0.1:" + std::to_string(endpoint_->ports().front());
  }
  void Publish(bool has_results) {
    MetricFamilyBuilder f;
    f.Add("nodehealth_drain_recommended", "1 when a drain is recommended", {}, 0);
    auto snapshot = std::make_shared<AgentSnapshot>();
    snapshot->families = f.Build();
    snapshot->report_json = "{\"schema_version\": 1}\n";
    snapshot->status_html = "<!DOCTYPE html>\n<p>the status page</p>\n";
    snapshot->has_results = has_results;
    std::lock_guard lock(mutex_);
    snapshot_ = snapshot;
  }
  std::mutex mutex_;
  std::shared_ptr<const AgentSnapshot> snapshot_;
  bool healthy_ = true;
  std::unique_ptr<HttpEndpoint> endpoint_;
  std::string host_port_;
};

TEST_F(HttpEndpointServingTest, BeforeTheFirstRound) {
  testing::HttpResponse r = testing::HttpGet(host_port_, "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("nodehealth_drain_recommended"), std::string::npos);
  EXPECT_NE(r.body.find("nodehealth_http_connections_accepted_total 1\n"), std::string::npos)
      << r.body;
  r = testing::HttpGet(host_port_, "/report");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers["retry-after"], "5");
  EXPECT_EQ(r.body, "no results yet\n");
  r = testing::HttpGet(host_port_, "/");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers["retry-after"], "5");
  EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(r.body, RenderStatusPageWaiting());
  EXPECT_NE(r.body.find("<a href=\"/report\">/report</a>"), std::string::npos);
  Publish(/*has_results=*/false);  // the snapshot before the first round ends
  r = testing::HttpGet(host_port_, "/report");
  EXPECT_EQ(r.status, 503);
  {
    std::lock_guard lock(mutex_);
    healthy_ = false;
  }
  r = testing::HttpGet(host_port_, "/healthz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "scheduler stalled\n");
}

TEST_F(HttpEndpointServingTest, PathsHeadAndGzip) {
  Publish(/*has_results=*/true);
  testing::HttpResponse plain = testing::HttpGet(host_port_, "/metrics");
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(plain.headers["vary"], "Accept-Encoding");
  EXPECT_EQ(plain.headers.count("content-encoding"), 0u);
  EXPECT_EQ(plain.body.rfind("# HELP nodehealth_drain_recommended", 0), 0u) << plain.body;
  // The endpoint's counters follow the snapshot's families.
  EXPECT_LT(plain.body.find("nodehealth_drain_recommended 0\n"),
            plain.body.find("nodehealth_http_connections_open"));
  testing::HttpResponse gz =
      testing::HttpGet(host_port_, "/metrics", 5s, {{"Accept-Encoding", "gzip"}});
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(gz.headers["content-encoding"], "gzip");
  const std::string unzipped = Gunzip(gz.body);
  // Same page but for the counters that this request moved.
  EXPECT_EQ(unzipped.substr(0, unzipped.find("# HELP nodehealth_http")),
            plain.body.substr(0, plain.body.find("# HELP nodehealth_http")));
  EXPECT_NE(unzipped.find("nodehealth_http_responses_total{code=\"200\"} 1\n"), std::string::npos)
      << unzipped;

  testing::HttpResponse head =
      testing::HttpRaw(host_port_, "HEAD /report HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-type"], "application/json");
  EXPECT_EQ(head.headers["content-length"], "22");
  EXPECT_EQ(head.body, "");
  const testing::HttpResponse report =
      testing::HttpGet(host_port_, "/report", 5s, {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(Gunzip(report.body), "{\"schema_version\": 1}\n");
  // The status page is the snapshot's, rendered once with it (exporters/status_page.h).
  testing::HttpResponse index = testing::HttpGet(host_port_, "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(index.body, "<!DOCTYPE html>\n<p>the status page</p>\n");
  index = testing::HttpGet(host_port_, "/", 5s, {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(index.headers["content-encoding"], "gzip");
  EXPECT_EQ(Gunzip(index.body), "<!DOCTYPE html>\n<p>the status page</p>\n");
  const testing::HttpResponse missing = testing::HttpGet(host_port_, "/metrics/");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "not found: try /metrics, /report, /healthz\n");
  const testing::HttpResponse query = testing::HttpGet(host_port_, "/healthz?verbose=1");
  EXPECT_EQ(query.status, 200);
  EXPECT_EQ(query.body, "ok\n");
}

}  // namespace
}  // namespace nodehealth::agent
