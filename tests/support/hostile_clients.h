// Clients that abuse an HTTP endpoint the way slow or hostile peers do (issue 13, item 14), each
// on its own thread, over loopback, until stopped. Used by the end-to-end test that requires
// Prometheus to get every scrape meanwhile, and by bench/http_endpoint_bench.
//
// Kinds (each reconnects 20 ms after the server closed its connection, `reconnect` 5 ms):
//   idle        connects and sends nothing;
//   trickle     sends a request head one byte a second, never finishing it;
//   reconnect   connects and closes at once, in a loop (a pause of 5 ms between connections);
//   not_found   keeps one connection alive with a request for a missing path every 200 ms
//               (404 on a kept-alive connection: civetweb held a worker 2 s for each);
//   bad_method  the same with POST /metrics (405);
//   oversized   sends 64 KiB of header fields at once, reads the answer;
//   tls_stall   sends the first bytes of a TLS record and stops (a handshake never finished).
//
// Ownership: owns its threads and sockets; the destructor stops them (within about 250 ms).
// Thread safety: counts() may be called from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace nodehealth::testing {

struct HostileLoad {
  int idle = 0;
  int trickle = 0;
  int reconnect = 0;
  int not_found = 0;
  int bad_method = 0;
  int oversized = 0;
  int tls_stall = 0;
  int total() const {
    return idle + trickle + reconnect + not_found + bad_method + oversized + tls_stall;
  }
};

// A mix of every plain-HTTP kind adding up to `clients`.
HostileLoad MixedLoad(int clients);

class HostileClients {
 public:
  HostileClients(std::string host_port, HostileLoad load);
  ~HostileClients();
  HostileClients(const HostileClients&) = delete;
  HostileClients& operator=(const HostileClients&) = delete;

  struct Counts {
    uint64_t connections = 0;  // successful connects
    uint64_t responses = 0;    // HTTP responses read (404, 405, 431, 408, 400)
    uint64_t closed_by_server = 0;
  };
  Counts counts() const;

 private:
  enum class Kind { kIdle, kTrickle, kReconnect, kNotFound, kBadMethod, kOversized, kTlsStall };
  void RunClient(Kind kind);

  const std::string host_port_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> connections_{0};
  std::atomic<uint64_t> responses_{0};
  std::atomic<uint64_t> closed_by_server_{0};
  std::vector<std::thread> threads_;
};

}  // namespace nodehealth::testing
