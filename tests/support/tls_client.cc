#include "tests/support/tls_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace nodehealth::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string LastSslError() {
  unsigned long code = 0;
  while (unsigned long e = ERR_get_error()) code = e;
  if (code == 0) return "connection closed";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

int MillisLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// Runs `step` (an SSL call on the non-blocking socket) until it succeeds, fails, or the deadline.
template <class Step>
int Drive(SSL* ssl, int fd, Clock::time_point deadline, Step step) {
  while (true) {
    const int r = step();
    if (r > 0) return r;
    const int e = SSL_get_error(ssl, r);
    short events = 0;
    if (e == SSL_ERROR_WANT_READ) events = POLLIN;
    if (e == SSL_ERROR_WANT_WRITE) events = POLLOUT;
    if (events == 0) return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
    pollfd p{fd, events, 0};
    if (poll(&p, 1, MillisLeft(deadline)) <= 0) return -2;  // timeout
  }
}

}  // namespace

std::string BasicAuthorization(const std::string& user, const std::string& password) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = user + ":" + password;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return "Basic " + out;
}

bool ParseHttpResponse(const std::string& raw, testing::HttpResponse& out) {
  const std::size_t head_end = raw.find("\r\n\r\n");
  const std::string head = raw.substr(0, head_end);
  if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12) return false;
  out.status = std::atoi(head.c_str() + 9);
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos + 2 < head.size()) {
    const std::size_t next = head.find("\r\n", pos + 2);
    const std::string line =
        head.substr(pos + 2, next == std::string::npos ? next : next - pos - 2);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      std::size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      out.headers[name] = line.substr(v);
    }
    pos = next;
  }
  out.body = head_end == std::string::npos ? std::string() : raw.substr(head_end + 4);
  if (auto it = out.headers.find("content-length"); it != out.headers.end()) {
    out.body.resize(std::min<std::size_t>(out.body.size(), std::stoul(it->second)));
  }
  return true;
}

TlsResponse TlsGet(const std::string& host_port, const std::string& path,
                   const TlsClientOptions& options,
                   const std::map<std::string, std::string>& headers,
                   std::chrono::milliseconds timeout) {
  TlsResponse r;
  const Clock::time_point deadline = Clock::now() + timeout;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), options.ca_file.c_str(), nullptr) != 1) {
      r.error = "cannot load " + options.ca_file + ": " + LastSslError();
      return r;
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  if (!options.cert_file.empty() &&
      (SSL_CTX_use_certificate_chain_file(ctx.get(), options.cert_file.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx.get(), options.key_file.c_str(), SSL_FILETYPE_PEM) != 1)) {
    r.error = "cannot load the client certificate: " + LastSslError();
    return r;
  }
  std::string connect_error;
  const int fd = testing::ConnectTcp(host_port, timeout, connect_error);
  if (fd < 0) {
    r.error = connect_error;
    return r;
  }
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), options.server_name.c_str());
  if (!options.ca_file.empty()) SSL_set1_host(ssl.get(), options.server_name.c_str());
  const int handshake = Drive(ssl.get(), fd, deadline, [&] { return SSL_connect(ssl.get()); });
  if (handshake <= 0) {
    r.handshake_failed = true;
    r.timed_out = handshake == -2;
    r.error = "TLS handshake: " + (r.timed_out ? std::string("timed out") : LastSslError());
    close(fd);
    return r;
  }
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host_port + "\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "Connection: close\r\n\r\n";
  std::size_t sent = 0;
  while (sent < request.size()) {
    const int n = Drive(ssl.get(), fd, deadline, [&] {
      return SSL_write(ssl.get(), request.data() + sent, static_cast<int>(request.size() - sent));
    });
    if (n <= 0) {
      // TLS 1.3: the server checks the client's certificate after the client's side of the
      // handshake is done; a refusal arrives as an alert and ends the connection.
      r.handshake_failed = true;
      r.error = "TLS write: " + LastSslError();
      close(fd);
      return r;
    }
    sent += static_cast<std::size_t>(n);
  }
  char buffer[16384];
  while (true) {
    const int n =
        Drive(ssl.get(), fd, deadline, [&] { return SSL_read(ssl.get(), buffer, sizeof buffer); });
    if (n > 0) {
      r.raw.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    // TLS 1.3: a refused client certificate shows up as an alert on the first read.
    if (n == -1 && r.raw.empty()) {
      r.handshake_failed = true;
      r.error = "TLS read: " + LastSslError();
    }
    if (n == -2) {
      r.timed_out = true;
      r.error = "timed out";
    }
    break;
  }
  ERR_clear_error();
  close(fd);
  if (!ParseHttpResponse(r.raw, r) && r.error.empty()) r.error = "no HTTP response";
  return r;
}

}  // namespace nodehealth::testing
