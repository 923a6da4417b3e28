// The agent's HTTP endpoint (CONTRACT.md): /metrics through prometheus-cpp's Exposer, whose
// Collectable copies the latest snapshot's metric families (it never runs a probe); /report (the
// JSON report of the latest results) and /healthz (200 while the scheduler is alive, 503 after it
// stalled) through civetweb's request callback, on the same port.
//
// Bad requests: civetweb bounds the request size (16 KiB of headers: 413/400) and the time a
// client may take to send it (request_timeout_ms, counted from the first byte), so a slow client
// holds one worker for at most that long; other paths get 404, methods other than GET and HEAD
// 405. With N worker threads, N-1 slow clients still leave /metrics answering at once.
// /metrics keeps the connection alive (as Prometheus expects) for 2 s of idleness; the other
// answers close it.
//
// Thread safety: one endpoint per process (civetweb's callback has no per-server context that
// reaches us, so the handlers hang off a process-wide pointer). The handlers run on civetweb's
// worker threads and must be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent_snapshot.h"
#include "probes/util/expected.h"

namespace prometheus {
class Exposer;
}

namespace nodehealth::agent {

struct HttpHandlers {
  std::function<std::shared_ptr<const AgentSnapshot>()> snapshot;
  std::function<bool()> healthy;  // the scheduler's heartbeat is recent
};

struct HttpSettings {
  std::string listen = "0.0.0.0:9840";  // ADDR:PORT, [IPv6]:PORT; port 0 picks a free one
  int threads = 4;
  int request_timeout_ms = 5000;
};

class HttpEndpoint {
 public:
  // Binds and starts serving. An address that cannot be bound is an Error.
  static Expected<std::unique_ptr<HttpEndpoint>> Start(const HttpSettings& settings,
                                                       HttpHandlers handlers);
  ~HttpEndpoint();

  std::vector<int> ports() const;

  struct State;  // the handlers and the Collectable (defined in the .cc)

 private:
  HttpEndpoint() = default;
  std::shared_ptr<State> state_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

// civetweb's listening_ports syntax for ADDR:PORT ("0.0.0.0:9840" -> "0.0.0.0:9840",
// "[::]:9840" -> "[::]:9840", ":9840" -> "9840"); nullopt when it is not ADDR:PORT.
std::optional<std::string> CivetListenSpec(const std::string& listen);

}  // namespace nodehealth::agent
