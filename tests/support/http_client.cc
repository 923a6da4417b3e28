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
#include <cstring>
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
  const int fd = testing::ConnectTcp(host_port, timeout, error);
  if (fd < 0) return -1;
  const auto left = std::chrono::milliseconds(MillisLeft(deadline));
  if (!SendAllBefore(fd, initial_bytes, left, error)) {
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

KeptAliveConnection::KeptAliveConnection(const std::string& host_port,
                                         std::chrono::milliseconds timeout) {
  fd_ = testing::ConnectTcp(host_port, timeout, error_);
}

KeptAliveConnection::~KeptAliveConnection() {
  if (fd_ >= 0) ::close(fd_);
}

HttpResponse KeptAliveConnection::Exchange(const std::string& raw_request,
                                           std::chrono::milliseconds timeout, bool head) {
  HttpResponse r;
  const Clock::time_point deadline = Clock::now() + timeout;
  if (fd_ < 0) {
    r.error = "not connected: " + error_;
    return r;
  }
  if (!SendAllBefore(fd_, raw_request, timeout, r.error)) return r;
  while (true) {
    const std::size_t head_end = buffer_.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      const std::string head_text = buffer_.substr(0, head_end);
      std::size_t length = 0;
      std::size_t line_start = head_text.find("\r\n");
      while (line_start != std::string::npos) {
        const std::size_t next = head_text.find("\r\n", line_start + 2);
        std::string line = head_text.substr(
            line_start + 2, next == std::string::npos ? std::string::npos : next - line_start - 2);
        const std::size_t colon = line.find(':');
        if (colon != std::string::npos) {
          std::string name = line.substr(0, colon);
          std::transform(name.begin(), name.end(), name.begin(),
                         [](unsigned char c) { return std::tolower(c); });
          std::size_t v = colon + 1;
          while (v < line.size() && line[v] == ' ') ++v;
          r.headers[name] = line.substr(v);
        }
        line_start = next;
      }
      if (!head && r.headers.count("content-length")) {
        length = std::stoul(r.headers["content-length"]);
      }
      if (buffer_.size() >= head_end + 4 + length) {
        r.status = head_text.size() > 12 ? std::atoi(head_text.c_str() + 9) : 0;
        r.raw = buffer_.substr(0, head_end + 4 + length);
        r.body = buffer_.substr(head_end + 4, length);
        buffer_.erase(0, head_end + 4 + length);
        return r;
      }
      r.headers.clear();
    }
    pollfd p{fd_, POLLIN, 0};
    const int ready = poll(&p, 1, MillisLeft(deadline));
    if (ready <= 0) {
      r.timed_out = true;
      r.error = "timed out";
      return r;
    }
    char chunk[65536];
    const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      r.error = n == 0 ? "closed by the server" : std::string("recv: ") + std::strerror(errno);
      return r;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace nodehealth::testing
