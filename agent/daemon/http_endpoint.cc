#include "agent/daemon/http_endpoint.h"

#include <prometheus/text_serializer.h>

#include <atomic>

#include "exporters/metric_families.h"
#include "exporters/status_page.h"

namespace nodehealth::agent {

using http::Request;
using http::Response;

struct HttpEndpoint::State {
  HttpHandlers handlers;
  std::atomic<const http::HttpServer*> server{nullptr};

  // Loop thread only: what the latest snapshot looks like on the wire.
  std::shared_ptr<const AgentSnapshot> cached;
  std::string metrics_text;
  std::unique_ptr<http::GzipPrefix> metrics_gzip;
  std::shared_ptr<const std::string> report_plain;
  std::shared_ptr<const std::string> report_gzip;
  // Made when / is first asked for a snapshot, so that scrapes never pay for the page.
  std::shared_ptr<const AgentSnapshot> page_of;
  std::shared_ptr<const std::string> page_plain;
  std::shared_ptr<const std::string> page_gzip;

  void Refresh(const std::shared_ptr<const AgentSnapshot>& snapshot) {
    if (snapshot == cached) return;
    cached = snapshot;
    metrics_text = prometheus::TextSerializer().Serialize(snapshot->families);
    metrics_gzip = std::make_unique<http::GzipPrefix>(metrics_text);
    report_plain = std::make_shared<const std::string>(snapshot->report_json);
    report_gzip = std::make_shared<const std::string>(http::Gzip(snapshot->report_json));
  }

  // The endpoint's own counters, as of this request (not counting it).
  std::string EndpointMetrics() const {
    const http::HttpServer* s = server.load();
    if (s == nullptr) return {};
    const http::ServerStats stats = s->Stats();
    MetricFamilyBuilder f;
    f.Add("nodehealth_http_connections_open", "connections open on the agent's endpoint", {},
          static_cast<double>(stats.connections_open));
    f.Add("nodehealth_http_connections_accepted_total",
          "connections accepted by the agent's endpoint", {},
          static_cast<double>(stats.connections_accepted));
    const std::string closed_help =
        "connections the endpoint closed on its own: to make room at its bound (evicted), no "
        "complete request in time, idle too long, response not taken, bad request";
    const std::pair<const char*, uint64_t> closed[] = {
        {"evicted", stats.closed_evicted},
        {"request_timeout", stats.closed_request_timeout},
        {"idle_timeout", stats.closed_idle},
        {"write_timeout", stats.closed_write_timeout},
        {"bad_request", stats.closed_bad_request},
    };
    for (const auto& [reason, count] : closed) {
      f.Add("nodehealth_http_connections_closed_total", closed_help, {{"reason", reason}},
            static_cast<double>(count));
    }
    f.Add("nodehealth_http_tls_handshake_failures_total", "TLS handshakes that failed", {},
          static_cast<double>(stats.tls_handshake_failures));
    f.Add("nodehealth_http_basic_auth_checks_total",
          "bcrypt checks of basic-auth credentials (verified credentials are cached)", {},
          static_cast<double>(stats.auth_checks));
    for (const auto& [code, count] : stats.responses) {
      f.Add("nodehealth_http_responses_total", "responses sent by the agent's endpoint",
            {{"code", std::to_string(code)}}, static_cast<double>(count));
    }
    return prometheus::TextSerializer().Serialize(f.Build());
  }

  Response Metrics(const Request& request) {
    // Before the agent's first snapshot (a few milliseconds after the port opens) the page holds
    // only the endpoint's own counters, as the Exposer's did.
    if (std::shared_ptr<const AgentSnapshot> snapshot = handlers.snapshot()) Refresh(snapshot);
    const std::string tail = EndpointMetrics();
    Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.vary_accept_encoding = true;
    if (!metrics_gzip) {
      r.body = std::make_shared<const std::string>(tail);
    } else if (request.accepts_gzip && metrics_gzip->ok()) {
      r.body = std::make_shared<const std::string>(metrics_gzip->Finish(tail));
      r.gzip = true;
    } else {
      r.body = std::make_shared<const std::string>(metrics_text + tail);
    }
    return r;
  }

  Response Report(const Request& request) {
    std::shared_ptr<const AgentSnapshot> snapshot = handlers.snapshot();
    if (!snapshot || !snapshot->has_results) {
      return http::TextResponse(503, "no results yet\n", {{"Retry-After", "5"}});
    }
    Refresh(snapshot);
    Response r;
    r.content_type = "application/json";
    r.vary_accept_encoding = true;
    r.gzip = request.accepts_gzip && !report_gzip->empty();
    r.body = r.gzip ? report_gzip : report_plain;
    return r;
  }

  // The status page (exporters/status_page.h), behind the same TLS and basic auth as every path.
  Response StatusPage(const Request& request) {
    std::shared_ptr<const AgentSnapshot> snapshot = handlers.snapshot();
    if (!snapshot || !snapshot->has_results) {
      Response r = http::TextResponse(503, RenderStatusPageWaiting(), {{"Retry-After", "5"}});
      r.content_type = "text/html; charset=utf-8";
      return r;
    }
    if (snapshot != page_of) {
      page_of = snapshot;
      page_plain = std::make_shared<const std::string>(snapshot->status_html);
      page_gzip = std::make_shared<const std::string>(http::Gzip(snapshot->status_html));
    }
    Response r;
    r.content_type = "text/html; charset=utf-8";
    r.vary_accept_encoding = true;
    r.gzip = request.accepts_gzip && !page_gzip->empty();
    r.body = r.gzip ? page_gzip : page_plain;
    return r;
  }

  Response Handle(const Request& request) {
    if (request.path == "/metrics") return Metrics(request);
    if (request.path == "/report") return Report(request);
    if (request.path == "/healthz") {
      return handlers.healthy() ? http::TextResponse(200, "ok\n")
                                : http::TextResponse(503, "scheduler stalled\n");
    }
    if (request.path == "/") return StatusPage(request);
    return http::TextResponse(404, "not found: try /metrics, /report, /healthz\n");
  }
};

Expected<std::unique_ptr<HttpEndpoint>> HttpEndpoint::Start(const HttpSettings& settings,
                                                            HttpHandlers handlers) {
  std::unique_ptr<HttpEndpoint> endpoint(new HttpEndpoint());
  endpoint->state_ = std::make_shared<State>();
  endpoint->state_->handlers = std::move(handlers);
  http::ServerOptions options = settings.server;
  options.listen = settings.listen;
  Expected<std::unique_ptr<http::HttpServer>> server = http::HttpServer::Start(
      options, settings.security,
      [state = endpoint->state_](const Request& request) { return state->Handle(request); });
  if (!server) return server.error();
  endpoint->server_ = std::move(*server);
  endpoint->state_->server = endpoint->server_.get();
  return endpoint;
}

HttpEndpoint::~HttpEndpoint() {
  state_->server = nullptr;
  server_.reset();  // stops the loop thread before the state can go
}

std::vector<int> HttpEndpoint::ports() const { return {server_->port()}; }

void HttpEndpoint::SetSecurity(std::shared_ptr<const http::ServerSecurity> security) {
  server_->SetSecurity(std::move(security));
}

http::ServerStats HttpEndpoint::Stats() const { return server_->Stats(); }

}  // namespace nodehealth::agent
