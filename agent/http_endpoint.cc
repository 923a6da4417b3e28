#include "agent/http_endpoint.h"

#include <CivetServer.h>
#include <civetweb.h>
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <exception>
#include <string_view>

namespace nodehealth::agent {

struct HttpEndpoint::State : public prometheus::Collectable {
  HttpHandlers handlers;
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::shared_ptr<const AgentSnapshot> snapshot = handlers.snapshot();
    if (!snapshot) return {};
    return snapshot->families;  // a copy of what the scheduler built: no probe runs here
  }
};

namespace {

// civetweb calls BeginRequest without a way back to our object (its user data is the
// CivetServer); one endpoint per process, so a process-wide pointer serves.
std::shared_ptr<HttpEndpoint::State>& CurrentState() {
  static std::shared_ptr<HttpEndpoint::State> state;
  return state;
}
std::mutex g_state_mutex;

std::shared_ptr<HttpEndpoint::State> LoadState() {
  std::lock_guard lock(g_state_mutex);
  return CurrentState();
}

int Respond(mg_connection* conn, int status, std::string_view reason, std::string_view type,
            std::string_view body, bool head, std::string_view extra_headers = "") {
  mg_printf(conn,
            "HTTP/1.1 %d %.*s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n%.*s\r\n",
            status, static_cast<int>(reason.size()), reason.data(), static_cast<int>(type.size()),
            type.data(), body.size(), static_cast<int>(extra_headers.size()), extra_headers.data());
  if (!head && !body.empty()) mg_write(conn, body.data(), body.size());
  return status;
}

constexpr std::string_view kText = "text/plain; charset=utf-8";

// Returns 0 to let the Exposer serve /metrics, or the status of the response written here.
int BeginRequest(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  const std::string_view method = info && info->request_method ? info->request_method : "";
  const std::string_view uri = info && info->local_uri ? info->local_uri : "";
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    return Respond(conn, 405, "Method Not Allowed", kText, "only GET and HEAD\n", false,
                   "Allow: GET, HEAD\r\n");
  }
  if (uri == "/metrics" && !head) return 0;  // the Exposer serves GET
  std::shared_ptr<HttpEndpoint::State> state = LoadState();
  if (!state) return Respond(conn, 503, "Service Unavailable", kText, "shutting down\n", head);
  if (uri == "/metrics") {  // HEAD: the Exposer answers GET only; same headers, no body
    const std::string text = prometheus::TextSerializer().Serialize(state->Collect());
    return Respond(conn, 200, "OK", "text/plain; version=0.0.4", text, head);
  }
  if (uri == "/healthz") {
    return state->handlers.healthy()
               ? Respond(conn, 200, "OK", kText, "ok\n", head)
               : Respond(conn, 503, "Service Unavailable", kText, "scheduler stalled\n", head);
  }
  if (uri == "/report") {
    std::shared_ptr<const AgentSnapshot> snapshot = state->handlers.snapshot();
    if (!snapshot || !snapshot->has_results) {
      return Respond(conn, 503, "Service Unavailable", kText, "no results yet\n", head,
                     "Retry-After: 5\r\n");
    }
    return Respond(conn, 200, "OK", "application/json", snapshot->report_json, head);
  }
  if (uri == "/") {
    return Respond(conn, 200, "OK", "text/html; charset=utf-8",
                   "<html><head><title>nodehealth</title></head><body><h1>nodehealth</h1><ul>"
                   "<li><a href=\"/metrics\">/metrics</a></li>"
                   "<li><a href=\"/report\">/report</a></li>"
                   "<li><a href=\"/healthz\">/healthz</a></li></ul></body></html>\n",
                   head);
  }
  return Respond(conn, 404, "Not Found", kText, "not found: try /metrics, /report, /healthz\n",
                 head);
}

int LogMessage(const mg_connection*, const char* message) {
  spdlog::debug("http: {}", message ? message : "");
  return 1;  // handled: civetweb prints nothing itself
}

}  // namespace

std::optional<std::string> CivetListenSpec(const std::string& listen) {
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 >= listen.size()) return std::nullopt;
  const std::string_view port(listen.data() + colon + 1, listen.size() - colon - 1);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || ptr != port.data() + port.size() || value > 65535) return std::nullopt;
  const std::string host = listen.substr(0, colon);
  if (host.empty()) return std::string(port);
  if (host.front() == '[' && host.back() != ']') return std::nullopt;
  if (host.front() != '[' && host.find(':') != std::string::npos) return std::nullopt;
  return listen;
}

Expected<std::unique_ptr<HttpEndpoint>> HttpEndpoint::Start(const HttpSettings& settings,
                                                            HttpHandlers handlers) {
  const std::optional<std::string> spec = CivetListenSpec(settings.listen);
  if (!spec) {
    return MakeError("--listen \"" + settings.listen + "\" is not ADDR:PORT (e.g. 0.0.0.0:9840)");
  }
  std::unique_ptr<HttpEndpoint> endpoint(new HttpEndpoint());
  endpoint->state_ = std::make_shared<State>();
  endpoint->state_->handlers = std::move(handlers);
  {
    std::lock_guard lock(g_state_mutex);
    CurrentState() = endpoint->state_;
  }
  // civetweb copies the callbacks at start; a static keeps them valid regardless.
  static CivetCallbacks callbacks = [] {
    CivetCallbacks c;  // zero-initialised by its constructor
    c.begin_request = BeginRequest;
    c.log_message = LogMessage;
    return c;
  }();
  const std::vector<std::string> options = {
      "listening_ports",
      *spec,
      "num_threads",
      std::to_string(std::max(2, settings.threads)),
      "request_timeout_ms",
      std::to_string(settings.request_timeout_ms),
      "max_request_size",
      "16384",
      // Prometheus reuses its connection between scrapes; prometheus-cpp's answer has a length,
      // so civetweb can keep it open. An idle kept-alive connection frees its worker after 2 s.
      "enable_keep_alive",
      "yes",
      "keep_alive_timeout_ms",
      "2000",
  };
  try {
    endpoint->exposer_ = std::make_unique<prometheus::Exposer>(options, &callbacks);
  } catch (const std::exception& e) {
    std::lock_guard lock(g_state_mutex);
    CurrentState().reset();
    return MakeError("cannot listen on " + settings.listen + ": " + e.what());
  }
  endpoint->exposer_->RegisterCollectable(endpoint->state_);
  return endpoint;
}

HttpEndpoint::~HttpEndpoint() {
  exposer_.reset();  // stops civetweb's workers first
  std::lock_guard lock(g_state_mutex);
  if (CurrentState() == state_) CurrentState().reset();
}

std::vector<int> HttpEndpoint::ports() const { return exposer_->GetListeningPorts(); }

}  // namespace nodehealth::agent
