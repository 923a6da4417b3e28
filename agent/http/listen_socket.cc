#include "agent/http/listen_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace nodehealth::http {
namespace {

std::string Errno(const char* call) { return std::string(call) + ": " + std::strerror(errno); }

}  // namespace

Expected<ListenAddress> ParseListenAddress(const std::string& listen) {
  const auto bad = [&](const std::string& why) {
    return MakeError("--listen \"" + listen +
                     "\" is not ADDR:PORT (e.g. 0.0.0.0:9840, [::]:9840): " + why);
  };
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return bad("no port");
  const std::string_view port_text(listen.data() + colon + 1, listen.size() - colon - 1);
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() ||
      port > 65535) {
    return bad("the port must be a number 0..65535");
  }
  ListenAddress out;
  out.port = static_cast<int>(port);
  std::string host = listen.substr(0, colon);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad("unbalanced brackets");
    host = host.substr(1, host.size() - 2);
    in6_addr a6{};
    if (inet_pton(AF_INET6, host.c_str(), &a6) != 1) return bad("\"" + host + "\" is not IPv6");
  } else if (!host.empty()) {
    in_addr a4{};
    if (host.find(':') != std::string::npos) return bad("an IPv6 address needs brackets");
    if (inet_pton(AF_INET, host.c_str(), &a4) != 1) {
      return bad("\"" + host + "\" is not a numeric IPv4 address");
    }
  }
  out.host = host;
  return out;
}

// A listening socket for `address`, or an Error naming the address and the failing call.
Expected<int> OpenListener(const ListenAddress& address, const std::string& listen) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_INET;
  if (address.host.find(':') != std::string::npos) {
    family = AF_INET6;
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&storage);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(address.port));
    inet_pton(AF_INET6, address.host.c_str(), &a6->sin6_addr);
    length = sizeof *a6;
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&storage);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(address.port));
    a4->sin_addr.s_addr = htonl(INADDR_ANY);
    if (!address.host.empty()) inet_pton(AF_INET, address.host.c_str(), &a4->sin_addr);
    length = sizeof *a4;
  }
  const int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return MakeError("cannot listen on " + listen + ": " + Errno("socket"), errno);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    const int e = errno;
    close(fd);
    return MakeError("cannot listen on " + listen + ": bind: " + std::strerror(e), e);
  }
  if (::listen(fd, 128) != 0) {
    const int e = errno;
    close(fd);
    return MakeError("cannot listen on " + listen + ": listen: " + std::strerror(e), e);
  }
  return fd;
}

int LocalPort(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return 0;
  if (storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

}  // namespace nodehealth::http
