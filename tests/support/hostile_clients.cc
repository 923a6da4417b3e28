#include "tests/support/hostile_clients.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "tests/support/loopback_http.h"

namespace nodehealth::testing {
namespace {

using namespace std::chrono_literals;

enum class Wait { kQuiet, kData, kClosed };

// Waits up to `ms` for the server: data (read and discarded; `response` set when a chunk begins
// with a status line), its close, or nothing.
Wait WaitForServer(int fd, int ms, bool* response = nullptr) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, ms) <= 0) return Wait::kQuiet;
  char buffer[65536];
  const ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    return Wait::kClosed;
  }
  if (n > 0 && response) *response = std::string_view(buffer, 7) == "HTTP/1.";
  return n > 0 ? Wait::kData : Wait::kQuiet;
}

std::string OversizedRequest() {
  std::string r = "GET /metrics HTTP/1.1\r\nHost: hostile\r\n";
  for (int i = 0; i < 64; ++i)
    r += "X-Pad-" + std::to_string(i) + ": " + std::string(1000, 'a') + "\r\n";
  return r + "\r\n";
}

}  // namespace

HostileLoad MixedLoad(int clients) {
  HostileLoad load;
  int* kinds[] = {&load.idle,      &load.trickle,    &load.reconnect,
                  &load.not_found, &load.bad_method, &load.oversized};
  for (int i = 0; i < clients; ++i) ++*kinds[i % 6];
  return load;
}

HostileClients::HostileClients(std::string host_port, HostileLoad load)
    : host_port_(std::move(host_port)) {
  const std::pair<int, Kind> kinds[] = {
      {load.idle, Kind::kIdle},
      {load.trickle, Kind::kTrickle},
      {load.reconnect, Kind::kReconnect},
      {load.not_found, Kind::kNotFound},
      {load.bad_method, Kind::kBadMethod},
      {load.oversized, Kind::kOversized},
      {load.tls_stall, Kind::kTlsStall},
  };
  for (const auto& [count, kind] : kinds) {
    for (int i = 0; i < count; ++i) threads_.emplace_back([this, kind = kind] { RunClient(kind); });
  }
}

HostileClients::~HostileClients() {
  stop_ = true;
  for (std::thread& t : threads_) t.join();
}

HostileClients::Counts HostileClients::counts() const {
  return {connections_.load(), responses_.load(), closed_by_server_.load()};
}

void HostileClients::RunClient(Kind kind) {
  static const std::string kOversized = OversizedRequest();
  static const std::string kTrickle =
      "GET /metrics HTTP/1.1\r\nHost: hostile\r\nX-Trickle: " + std::string(4096, 'a');
  while (!stop_) {
    std::string error;
    const int fd = testing::ConnectTcp(host_port_, 1s, error);
    if (fd < 0) {
      std::this_thread::sleep_for(20ms);
      continue;
    }
    ++connections_;
    bool closed = false;
    auto note = [&](Wait w, bool response) {
      if (response) ++responses_;
      if (w == Wait::kClosed) {
        ++closed_by_server_;
        closed = true;
      }
    };
    switch (kind) {
      case Kind::kReconnect:
        break;
      case Kind::kIdle:
      case Kind::kTlsStall:
        if (kind == Kind::kTlsStall) {
          // A TLS record header announcing a ClientHello that never comes.
          send(fd, "\x16\x03\x01\x02\x00", 5, MSG_NOSIGNAL);
        }
        while (!stop_ && !closed) {
          bool response = false;
          note(WaitForServer(fd, 100, &response), response);
        }
        break;
      case Kind::kTrickle:
        for (std::size_t i = 0; !stop_ && !closed && i < kTrickle.size(); ++i) {
          if (send(fd, &kTrickle[i], 1, MSG_NOSIGNAL) != 1) break;
          for (int slice = 0; slice < 10 && !stop_ && !closed; ++slice) {  // a byte a second
            bool response = false;
            note(WaitForServer(fd, 100, &response), response);
          }
        }
        break;
      case Kind::kNotFound:
      case Kind::kBadMethod: {
        const std::string request =
            kind == Kind::kNotFound
                ? "GET /no/such/path HTTP/1.1\r\nHost: hostile\r\n\r\n"
                : "POST /metrics HTTP/1.1\r\nHost: hostile\r\nContent-Length: 0\r\n\r\n";
        while (!stop_ && !closed) {
          if (!SendAllBefore(fd, request, 1s, error)) break;
          bool response = false;
          note(WaitForServer(fd, 1000, &response), response);
          std::this_thread::sleep_for(200ms);
        }
        break;
      }
      case Kind::kOversized:
        SendAllBefore(fd, kOversized, 1s, error);
        while (!stop_ && !closed) {
          bool response = false;
          const Wait w = WaitForServer(fd, 100, &response);
          note(w, response);
          if (w == Wait::kQuiet) break;  // answered (or nothing): start again
        }
        break;
    }
    close(fd);
    // Hammering, but leaving the CPU to the server under test on a small CI machine.
    std::this_thread::sleep_for(kind == Kind::kReconnect ? 5ms : 20ms);
  }
}

}  // namespace nodehealth::testing
