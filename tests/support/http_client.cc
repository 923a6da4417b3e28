#include "tests/support/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <thread>

namespace nodehealth::testing {
namespace {

using Clock = std::chrono::steady_clock;

int MillisLeft(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return static_cast<int>(std::min<long long>(left, 1000 * 1000));
}

}  // namespace

int ConnectSlowClient(const std::string& host_port, const std::string& initial_bytes,
                      std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  std::string error;
  const int fd = platform::ConnectTcp(host_port, timeout, error);
  if (fd < 0) return -1;
  const auto left = std::chrono::milliseconds(MillisLeft(deadline));
  if (!platform::SendAllBefore(fd, initial_bytes, left, error)) {
    ::close(fd);
    return -1;
  }
  // Blocking from here on: simpler for callers that write more later.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

bool WaitForPeerClose(int fd, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n == 0) return true;
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return true;  // reset, or not a socket any more
    const int left = MillisLeft(deadline);
    if (left == 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, left) == 0) return false;
  }
}

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

std::string LoopbackHostPort(int port) { return "127.0.0.1:" + std::to_string(port); }

bool WaitForHttp(const std::string& host_port, const std::string& path,
                 std::chrono::milliseconds timeout, HttpResponse* last) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::milliseconds(MillisLeft(deadline));
    HttpResponse response =
        HttpGet(host_port, path, std::min(left, std::chrono::milliseconds(1000)));
    const bool ready = response.ok() && response.status == 200;
    if (last != nullptr) *last = std::move(response);
    if (ready) return true;
    if (MillisLeft(deadline) == 0) return false;
    std::this_thread::sleep_for(
        std::min(std::chrono::milliseconds(25), std::chrono::milliseconds(MillisLeft(deadline))));
  }
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace nodehealth::testing
