#include "tests/support/loopback_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
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

constexpr std::size_t kMaxResponseBytes = 256u << 20;

int MillisLeft(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return static_cast<int>(std::min<long long>(left, 1000 * 1000));
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

bool SplitHostPort(const std::string& host_port, std::string& host, std::string& port) {
  if (!host_port.empty() && host_port.front() == '[') {
    const std::size_t close = host_port.find(']');
    if (close == std::string::npos || close + 1 >= host_port.size() ||
        host_port[close + 1] != ':') {
      return false;
    }
    host = host_port.substr(1, close - 1);
    port = host_port.substr(close + 2);
  } else {
    const std::size_t colon = host_port.rfind(':');
    if (colon == std::string::npos) return false;
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  return !host.empty() && !port.empty() &&
         std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); });
}

// A connected non-blocking socket, or -1 with `error` set.
int Connect(const std::string& host_port, Clock::time_point deadline, std::string& error) {
  std::string host;
  std::string port;
  if (!SplitHostPort(host_port, host, port)) {
    error = "not HOST:PORT: '" + host_port + "'";
    return -1;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &addresses);
  if (rc != 0) {
    error = "cannot resolve " + host + ": " + ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  error = "no address for " + host_port;
  for (addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      error = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    int result = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (result != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int ready;
      do {
        ready = ::poll(&p, 1, MillisLeft(deadline));
      } while (ready < 0 && errno == EINTR);
      if (ready == 0) {
        errno = ETIMEDOUT;
      } else {
        int so_error = 0;
        socklen_t len = sizeof so_error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
        errno = so_error;
        if (so_error == 0) result = 0;
      }
    }
    if (result == 0) break;
    error = "connect to " + host_port + ": " + std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(addresses);
  if (fd >= 0) error.clear();
  return fd;
}

// Sends everything before the deadline; false with `error` set otherwise.
bool SendAll(int fd, std::string_view data, Clock::time_point deadline, std::string& error) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      const int left = MillisLeft(deadline);
      if (left == 0 || ::poll(&p, 1, left) == 0) {
        error = "timeout while sending";
        return false;
      }
      continue;
    }
    error = std::string("send: ") + std::strerror(errno);
    return false;
  }
  return true;
}

enum class Parse { kIncomplete, kComplete, kMalformed };

// Decodes a chunked body from `data`; kIncomplete until the last chunk and the trailers are in.
Parse Dechunk(std::string_view data, std::string& body, std::string& why) {
  body.clear();
  std::size_t pos = 0;
  while (true) {
    const std::size_t eol = data.find("\r\n", pos);
    if (eol == std::string_view::npos) return Parse::kIncomplete;
    std::string_view size_text = data.substr(pos, eol - pos);
    size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions
    const std::string size_trimmed = Trim(size_text);
    if (size_trimmed.empty() ||
        !std::all_of(size_trimmed.begin(), size_trimmed.end(),
                     [](unsigned char c) { return std::isxdigit(c); }) ||
        size_trimmed.size() > 15) {
      why = "bad chunk size '" + size_trimmed + "'";
      return Parse::kMalformed;
    }
    const std::size_t size = std::stoull(size_trimmed, nullptr, 16);
    pos = eol + 2;
    if (size == 0) {
      // Trailers: header lines up to an empty line.
      while (true) {
        const std::size_t end = data.find("\r\n", pos);
        if (end == std::string_view::npos) return Parse::kIncomplete;
        if (end == pos) return Parse::kComplete;
        pos = end + 2;
      }
    }
    if (data.size() < pos + size + 2) return Parse::kIncomplete;
    body.append(data.substr(pos, size));
    if (data.substr(pos + size, 2) != "\r\n") {
      why = "chunk not followed by CRLF";
      return Parse::kMalformed;
    }
    pos += size + 2;
  }
}

// Parses `raw` into `response` (status, headers, body so far).
Parse ParseResponse(const std::string& raw, HttpResponse& response, std::string& why) {
  std::size_t header_end = raw.find("\r\n\r\n");
  std::size_t body_start = header_end + 4;
  const std::size_t lf_end = raw.find("\n\n");
  if (lf_end != std::string::npos && (header_end == std::string::npos || lf_end < header_end)) {
    header_end = lf_end;
    body_start = lf_end + 2;
  }
  if (header_end == std::string::npos) {
    if (raw.size() >= 5 && raw.compare(0, 5, "HTTP/") != 0) {
      why = "not an HTTP response";
      return Parse::kMalformed;
    }
    return Parse::kIncomplete;
  }
  const std::string head = raw.substr(0, header_end);
  std::size_t line_end = head.find('\n');
  const std::string status_line = Trim(head.substr(0, line_end));
  // "HTTP/1.1 200 OK"
  if (status_line.rfind("HTTP/", 0) != 0 || status_line.size() < 12 || status_line[8] != ' ' ||
      !std::isdigit(static_cast<unsigned char>(status_line[9])) ||
      !std::isdigit(static_cast<unsigned char>(status_line[10])) ||
      !std::isdigit(static_cast<unsigned char>(status_line[11]))) {
    why = "bad status line '" + status_line + "'";
    return Parse::kMalformed;
  }
  response.status = std::stoi(status_line.substr(9, 3));
  response.headers.clear();
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 1;
    line_end = head.find('\n', start);
    const std::string line =
        head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const std::size_t colon = line.find(':');
    if (Trim(line).empty()) continue;
    if (colon == std::string::npos) {
      why = "bad header line '" + Trim(line) + "'";
      return Parse::kMalformed;
    }
    const std::string name = Lower(Trim(line.substr(0, colon)));
    const std::string value = Trim(line.substr(colon + 1));
    auto [it, inserted] = response.headers.emplace(name, value);
    if (!inserted) it->second += ", " + value;
  }

  const std::string_view rest = std::string_view(raw).substr(body_start);
  if (response.status / 100 == 1 || response.status == 204 || response.status == 304) {
    response.body.clear();
    return Parse::kComplete;
  }
  const auto te = response.headers.find("transfer-encoding");
  if (te != response.headers.end() && Lower(te->second).find("chunked") != std::string::npos) {
    return Dechunk(rest, response.body, why);
  }
  const auto cl = response.headers.find("content-length");
  if (cl != response.headers.end()) {
    const std::string& text = cl->second;
    if (text.empty() || text.size() > 15 ||
        !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
      why = "bad Content-Length '" + text + "'";
      return Parse::kMalformed;
    }
    const std::size_t length = std::stoull(text);
    response.body = std::string(rest.substr(0, length));
    return rest.size() >= length ? Parse::kComplete : Parse::kIncomplete;
  }
  response.body = std::string(rest);  // delimited by the end of the connection
  return Parse::kIncomplete;
}

enum class StreamEnd { kClosed, kTimeout, kComplete, kError };

// Receives into `response.raw` until the peer closes, the deadline, or (when `stop_at_complete`)
// a whole response is in. The deadline is checked after every read, not only when the peer
// pauses: a server that streams without end (a chunked body that never ends, a 4 GiB length)
// ends at the deadline. The response is parsed only when no more data is waiting, so a large body
// is not parsed again for every 64 KiB that arrives.
StreamEnd Receive(int fd, Clock::time_point deadline, bool stop_at_complete, HttpResponse& response,
                  std::string& error) {
  char buffer[65536];
  bool unparsed = false;  // data arrived since the last parse
  while (true) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      response.raw.append(buffer, static_cast<std::size_t>(n));
      unparsed = true;
      if (response.raw.size() > kMaxResponseBytes) {
        error = "response larger than " + std::to_string(kMaxResponseBytes) + " bytes";
        return StreamEnd::kError;
      }
      if (MillisLeft(deadline) == 0) return StreamEnd::kTimeout;
      continue;
    }
    if (n == 0) return StreamEnd::kClosed;
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) {
      if (response.raw.empty()) error = "connection reset by peer";
      return StreamEnd::kClosed;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      error = std::string("recv: ") + std::strerror(errno);
      return StreamEnd::kError;
    }
    if (stop_at_complete && unparsed) {
      unparsed = false;
      HttpResponse scratch;
      std::string why;
      if (ParseResponse(response.raw, scratch, why) == Parse::kComplete) {
        return StreamEnd::kComplete;
      }
    }
    const int left = MillisLeft(deadline);
    if (left == 0) return StreamEnd::kTimeout;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, left);
    if (ready == 0) return StreamEnd::kTimeout;
  }
}

// Sends `request` and reads the answer. `get`: stop at a complete response, and a missing or
// partial one is an error; otherwise (raw) read until the peer closes.
HttpResponse Exchange(const std::string& host_port, const std::string& request,
                      std::chrono::milliseconds timeout, bool get) {
  HttpResponse response;
  const Clock::time_point deadline = Clock::now() + timeout;
  const int fd = Connect(host_port, deadline, response.error);
  if (fd < 0) return response;
  std::string send_error;
  const bool sent = SendAll(fd, request, deadline, send_error);
  if (!sent && get) {
    response.error = send_error;
    response.timed_out = MillisLeft(deadline) == 0;
    ::close(fd);
    return response;
  }
  // A raw request that the server rejected half-way may still have an answer to read.
  std::string receive_error;
  const StreamEnd end = Receive(fd, deadline, get, response, receive_error);
  ::close(fd);
  response.timed_out = end == StreamEnd::kTimeout;

  std::string why;
  const Parse parsed =
      response.raw.empty() ? Parse::kIncomplete : ParseResponse(response.raw, response, why);
  const bool delimited_by_close = parsed == Parse::kIncomplete && end == StreamEnd::kClosed &&
                                  response.status != 0 &&
                                  !response.headers.contains("content-length") &&
                                  !response.headers.contains("transfer-encoding");
  if (parsed == Parse::kComplete || delimited_by_close) return response;

  const std::string ms = std::to_string(timeout.count()) + " ms";
  if (!receive_error.empty()) {
    response.error = receive_error;
  } else if (parsed == Parse::kMalformed) {
    response.error = "malformed response: " + why;
  } else if (end == StreamEnd::kTimeout) {
    response.error =
        "timeout after " + ms + " (" + std::to_string(response.raw.size()) + " bytes received)";
  } else if (response.raw.empty()) {
    response.error = "connection closed without a response";
  } else {
    response.error = "connection closed before the end of the response";
  }
  if (!sent && response.raw.empty()) response.error = send_error + "; " + response.error;
  return response;
}

}  // namespace

HttpResponse HttpGet(const std::string& host_port, const std::string& path,
                     std::chrono::milliseconds timeout,
                     const std::map<std::string, std::string>& extra_headers) {
  std::map<std::string, std::pair<std::string, std::string>> headers = {
      {"host", {"Host", host_port}},
      {"user-agent", {"User-Agent", "nodehealth"}},
      {"accept", {"Accept", "*/*"}},
      {"connection", {"Connection", "close"}},
  };
  for (const auto& [name, value] : extra_headers) headers[Lower(name)] = {name, value};
  std::string request = "GET " + path + " HTTP/1.1\r\n";
  for (const auto& [key, header] : headers) request += header.first + ": " + header.second + "\r\n";
  request += "\r\n";
  return Exchange(host_port, request, timeout, /*get=*/true);
}

HttpResponse HttpRaw(const std::string& host_port, const std::string& raw_request,
                     std::chrono::milliseconds timeout) {
  return Exchange(host_port, raw_request, timeout, /*get=*/false);
}

int ConnectTcp(const std::string& host_port, std::chrono::milliseconds timeout,
               std::string& error) {
  return Connect(host_port, Clock::now() + timeout, error);
}

bool SendAllBefore(int fd, std::string_view data, std::chrono::milliseconds timeout,
                   std::string& error) {
  return SendAll(fd, data, Clock::now() + timeout, error);
}

}  // namespace nodehealth::testing
