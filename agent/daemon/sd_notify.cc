#include "agent/daemon/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>

namespace nodehealth::agent {
namespace {

std::optional<long long> EnvNumber(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr) return std::nullopt;
  long long value = 0;
  const char* end = text + std::strlen(text);
  auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace

bool SdNotify(std::string_view state) {
  const char* socket_path = std::getenv("NOTIFY_SOCKET");
  if (socket_path == nullptr || socket_path[0] == '\0') return false;
  const std::size_t length = std::strlen(socket_path);
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if ((socket_path[0] != '/' && socket_path[0] != '@') || length >= sizeof address.sun_path) {
    return false;
  }
  std::memcpy(address.sun_path, socket_path, length);
  if (socket_path[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
  const socklen_t address_length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                                reinterpret_cast<const sockaddr*>(&address), address_length);
  ::close(fd);
  return sent == static_cast<ssize_t>(state.size());
}

std::optional<std::chrono::microseconds> WatchdogPeriod() {
  const std::optional<long long> usec = EnvNumber("WATCHDOG_USEC");
  if (!usec || *usec <= 0) return std::nullopt;
  if (const std::optional<long long> pid = EnvNumber("WATCHDOG_PID"); pid && *pid != ::getpid()) {
    return std::nullopt;
  }
  return std::chrono::microseconds(*usec);
}

}  // namespace nodehealth::agent
