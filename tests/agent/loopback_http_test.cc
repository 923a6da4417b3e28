#include "tests/support/loopback_http.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace nodehealth::testing {
namespace {

// A loopback server that answers one connection with `head`, then streams `chunk` until the
// client goes away or 20 s pass: a body without end.
class EndlessServer {
 public:
  EndlessServer(std::string head, std::string chunk) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd_, 1) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this, head = std::move(head), chunk = std::move(chunk)] {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      char request[4096];
      [[maybe_unused]] const ssize_t got = ::recv(client, request, sizeof request, 0);
      bool ok = ::send(client, head.data(), head.size(), MSG_NOSIGNAL) > 0;
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (ok && !stop_ && std::chrono::steady_clock::now() < until) {
        ok = ::send(client, chunk.data(), chunk.size(), MSG_NOSIGNAL) > 0;
      }
      ::close(client);
    });
  }
  ~EndlessServer() {
    stop_ = true;
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Issue 13 item 17: the deadline was checked only when no data was waiting, so a server that
// never stops sending kept the client at 100 % CPU (parsing the whole body again per read) long
// past its timeout.
TEST(HttpClientTest, AnEndlessBodyEndsAtTheDeadline) {
  const std::string block(16384, 'x');
  const std::pair<std::string, std::string> servers[] = {
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "4000\r\n" + block + "\r\n"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 4294967296\r\n\r\n", block},
  };
  for (const auto& [head, chunk] : servers) {
    EndlessServer server(head, chunk);
    const auto start = std::chrono::steady_clock::now();
    const HttpResponse response = HttpGet(server.host_port(), "/report", std::chrono::seconds(1));
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_FALSE(response.ok()) << head;
    EXPECT_TRUE(response.timed_out || response.error.find("larger than") != std::string::npos)
        << response.error;
    EXPECT_LT(took, 3.0) << head;  // a 1 s deadline, with room for a loaded or sanitized run
  }
}

}  // namespace
}  // namespace nodehealth::testing
