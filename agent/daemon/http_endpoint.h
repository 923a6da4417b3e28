// The agent's HTTP endpoint (CONTRACT.md), on nodehealth's own event-driven server
// (http/http_server.h: one thread, bounded connections, deadlines, TLS and basic auth from the
// web config):
//
//   /metrics  text format 0.0.4, gzip when the client accepts it: the latest snapshot's metric
//             families (serialized and compressed once per snapshot: a scrape never runs a probe
//             and takes no lock a probe holds) followed by the endpoint's own nodehealth_http_*
//             counters, which change with every request;
//   /report   the snapshot's JSON report (process names and PIDs redacted unless configured,
//             agent_snapshot.h); 503 with Retry-After before the first round;
//   /healthz  200 "ok" while the scheduler keeps its promise of progress, 503 after;
//   /         the status page (exporters/status_page.h, docs/status-page.md), HTML rendered with
//             the snapshot and redacted as /report is; 503 with Retry-After and a page of links
//             before the first round.
// HEAD on each gives GET's fields without the body; other paths 404, other methods 405.
//
// Thread safety: Start, SetSecurity, ports and the destructor from any thread (one at a time). The
// handlers run on the server's loop thread and must not block: `snapshot` returns a pointer,
// `healthy` reads an atomic.
// Failure: Start returns an Error when the address is not ADDR:PORT or cannot be bound ("cannot
// listen on 127.0.0.1:80: bind: Permission denied"). Stopping (the destructor) returns within
// about 100 ms whatever the clients do.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/daemon/agent_snapshot.h"
#include "agent/http/http_server.h"
#include "probes/util/expected.h"

namespace nodehealth::agent {

struct HttpHandlers {
  std::function<std::shared_ptr<const AgentSnapshot>()> snapshot;
  std::function<bool()> healthy;  // the scheduler's heartbeat is recent
};

struct HttpSettings {
  std::string listen = "0.0.0.0:9840";  // ADDR:PORT, [IPv6]:PORT; port 0 picks a free one
  std::shared_ptr<const http::ServerSecurity> security = nullptr;  // null: plain HTTP, no auth
  http::ServerOptions server = {};  // bounds and deadlines (`listen` is replaced by the above)
};

class HttpEndpoint {
 public:
  static Expected<std::unique_ptr<HttpEndpoint>> Start(const HttpSettings& settings,
                                                       HttpHandlers handlers);
  ~HttpEndpoint();

  std::vector<int> ports() const;
  // A reloaded web config: new connections and every later request use it.
  void SetSecurity(std::shared_ptr<const http::ServerSecurity> security);
  http::ServerStats Stats() const;

  struct State;  // the handlers and the per-snapshot caches (defined in the .cc)

 private:
  HttpEndpoint() = default;
  std::shared_ptr<State> state_;
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace nodehealth::agent
