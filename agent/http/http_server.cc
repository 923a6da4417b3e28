#include "agent/http/http_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "agent/http/basic_auth.h"
#include "agent/http/listen_socket.h"

namespace nodehealth::http {

Expected<std::shared_ptr<const ServerSecurity>> BuildServerSecurity(const WebConfig& config) {
  auto security = std::make_shared<ServerSecurity>();
  if (config.tls) {
    Expected<TlsContext> tls = BuildTlsContext(*config.tls, config.path);
    if (!tls) return tls.error();
    security->tls = *tls;
  }
  security->users = config.users;
  security->headers = config.headers;
  return std::shared_ptr<const ServerSecurity>(std::move(security));
}

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kListenerId = 0;
constexpr uint64_t kWakeId = 1;
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr int kMaxAcceptsPerWake = 64;
constexpr std::size_t kMaxDrainBytes = 64 * 1024;
constexpr auto kDrainTime = std::chrono::milliseconds(1000);
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
constexpr auto kStalledWrite = std::chrono::milliseconds(1000);

std::string Errno(const char* call) { return std::string(call) + ": " + std::strerror(errno); }

const std::string& Unauthorized() {
  static const std::string kBody = "401 Unauthorized: basic authentication required\n";
  return kBody;
}

}  // namespace

class HttpServer::Loop {
 public:
  Loop(const ServerOptions& options, std::shared_ptr<const ServerSecurity> security,
       RequestHandler handler, int listener, int epoll, int wake)
      : options_(options),
        handler_(std::move(handler)),
        listener_(listener),
        epoll_(epoll),
        wake_(wake),
        port_(LocalPort(listener)),
        security_(std::move(security)),
        auth_(std::make_unique<BasicAuthenticator>(options.auth_queue, [wake] {
          const uint64_t one = 1;
          [[maybe_unused]] ssize_t n = write(wake, &one, sizeof one);
        })) {
    auth_->SetUsers(security_->users);
  }

  ~Loop() {
    stop_ = true;
    Wake();
    if (thread_.joinable()) thread_.join();
    auth_.reset();  // its worker must not write to `wake_` once that is closed
    for (auto& [id, c] : conns_) CloseNow(*c);
    conns_.clear();
    close(listener_);
    close(epoll_);
    close(wake_);
  }

  void Begin() {
    thread_ = std::thread([this] { Run(); });
  }
  int port() const { return port_; }

  void SetSecurity(std::shared_ptr<const ServerSecurity> security) {
    {
      std::lock_guard lock(pending_mutex_);
      pending_security_ = std::move(security);
    }
    Wake();
  }

  ServerStats Stats() const {
    std::lock_guard lock(stats_mutex_);
    ServerStats s = stats_;
    s.connections_open = open_.load();
    s.auth_checks = auth_->checks_run();
    return s;
  }

 private:
  enum class Phase {
    kHandshake,  // TLS handshake in progress
    kReading,    // waiting for (the rest of) a request head; `idle` when none has begun
    kAuthWait,   // the request waits for its bcrypt check
    kWriting,    // a response is being written
    kDraining,   // answered with "Connection: close": reading what the client still sends
    kClosed,     // closed; erased from the table at the end of the loop iteration
  };

  struct Connection {
    uint64_t id = 0;
    int fd = -1;
    SSL* ssl = nullptr;
    Phase phase = Phase::kReading;
    bool idle = false;  // kReading on a kept-alive connection, no byte of a request yet
    bool plaintext_checked = false;
    bool peer_closed = false;  // the client shut its side: answer what is here, then close
    std::string in;            // received, not yet consumed
    std::size_t scanned = 0;   // bytes of `in` already parsed without a complete head
    std::string out;
    std::size_t out_done = 0;
    bool close_after_write = false;
    std::size_t drained = 0;
    Clock::time_point deadline;
    Clock::time_point waiting_since;  // eviction order: accepted, idle since, last bytes written
    uint32_t events = 0;              // registered with epoll
    Request pending;                  // kAuthWait
  };

  void Wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_, &one, sizeof one);
  }

  template <class F>
  void Count(F update) {
    std::lock_guard lock(stats_mutex_);
    update(stats_);
  }

  void Run() {
    epoll_event events[64];
    while (!stop_) {
      // Sleep until the nearest deadline; with none (no connection), until an event: an idle
      // agent's endpoint costs no wake-ups.
      const Clock::time_point now = Clock::now();
      Clock::time_point next = Clock::time_point::max();
      for (const auto& [id, c] : conns_) {
        if (c->phase != Phase::kClosed) next = std::min(next, c->deadline);
      }
      if (accept_paused_) next = std::min(next, accept_resume_);
      int timeout_ms = -1;
      if (next != Clock::time_point::max()) {
        const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - now);
        timeout_ms = static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 60 * 60 * 1000));
      }
      const int n = epoll_wait(epoll_, events, 64, timeout_ms);
      if (n < 0 && errno != EINTR) {
        spdlog::error("http: epoll_wait: {}", std::strerror(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      for (int i = 0; i < n && !stop_; ++i) {
        const uint64_t id = events[i].data.u64;
        if (id == kListenerId) {
          AcceptNew();
        } else if (id == kWakeId) {
          OnWake();
        } else if (auto it = conns_.find(id); it != conns_.end()) {
          OnEvent(*it->second, events[i].events);
        }
      }
      Expire(Clock::now());
      Reap();
      if (accept_paused_ && Clock::now() >= accept_resume_) {
        accept_paused_ = false;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = kListenerId;
        epoll_ctl(epoll_, EPOLL_CTL_MOD, listener_, &ev);
      }
    }
  }

  void OnWake() {
    uint64_t count = 0;
    [[maybe_unused]] ssize_t n = read(wake_, &count, sizeof count);
    std::shared_ptr<const ServerSecurity> fresh;
    {
      std::lock_guard lock(pending_mutex_);
      fresh = std::move(pending_security_);
    }
    if (fresh) {
      security_ = std::move(fresh);
      auth_->SetUsers(security_->users);
    }
    for (const BasicAuthenticator::Outcome& outcome : auth_->TakeOutcomes()) {
      auto it = conns_.find(outcome.ticket);
      if (it == conns_.end() || it->second->phase != Phase::kAuthWait) continue;
      Connection& c = *it->second;
      Request request = std::move(c.pending);
      if (outcome.allowed) {
        Answer(c, request);
      } else {
        Deny(c, request);
      }
    }
  }

  // --- connections ---------------------------------------------------------------------------

  void AcceptNew() {
    for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
      const int fd = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: the listener would wake the loop again at once. Pause it, and
          // make room the same way a full table does.
          spdlog::warn("http: accept: {}; pausing new connections for 100 ms",
                       std::strerror(errno));
          EvictOne();
          accept_paused_ = true;
          accept_resume_ = Clock::now() + kAcceptPause;
          epoll_event ev{};
          ev.data.u64 = kListenerId;
          epoll_ctl(epoll_, EPOLL_CTL_MOD, listener_, &ev);
        }
        return;
      }
      if (open_ >= options_.max_connections && !EvictOne()) {
        close(fd);  // every connection is being answered: the newcomer waits its turn
        Count([](ServerStats& s) { ++s.closed_evicted; });
        continue;
      }
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Connection>();
      c->id = next_id_++;
      c->fd = fd;
      const Clock::time_point now = Clock::now();
      c->deadline = now + options_.request_timeout;
      c->waiting_since = now;
      if (security_->tls) {
        c->ssl = SSL_new(security_->tls.get());
        if (c->ssl == nullptr || SSL_set_fd(c->ssl, fd) != 1) {
          ERR_clear_error();
          if (c->ssl) SSL_free(c->ssl);
          close(fd);
          continue;
        }
        SSL_set_accept_state(c->ssl);
        c->phase = Phase::kHandshake;
      }
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.u64 = c->id;
      if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        CloseNow(*c);
        continue;
      }
      c->events = ev.events;
      ++open_;
      Count([](ServerStats& s) { ++s.connections_accepted; });
      conns_.emplace(c->id, std::move(c));
    }
  }

  // Closes one connection to make room (header comment: the bound's policy). False when every
  // connection is being answered.
  bool EvictOne() {
    // Rank: 0 answered and closing (draining), 1 kept-alive and idle, 2 no complete request yet,
    // 3 a response the client has not taken for a second (a reader that stalls on purpose).
    const Clock::time_point stalled = Clock::now() - kStalledWrite;
    Connection* victim = nullptr;
    int victim_rank = 4;
    for (auto& [id, c] : conns_) {
      int rank = 4;
      if (c->phase == Phase::kDraining) {
        rank = 0;
      } else if (c->phase == Phase::kReading && c->idle) {
        rank = 1;
      } else if (c->phase == Phase::kHandshake || c->phase == Phase::kReading) {
        rank = 2;
      } else if (c->phase == Phase::kWriting && c->waiting_since < stalled) {
        rank = 3;
      }
      if (rank < victim_rank ||
          (rank == victim_rank && rank < 4 && c->waiting_since < victim->waiting_since)) {
        victim = c.get();
        victim_rank = rank;
      }
    }
    if (victim_rank == 4) return false;
    Count([](ServerStats& s) { ++s.closed_evicted; });
    Close(*victim);
    return true;
  }

  void SetEvents(Connection& c, uint32_t events) {
    // After the client's FIN, EPOLLRDHUP would be reported on every wait: ask for it only before.
    if (!c.peer_closed) events |= EPOLLRDHUP;
    if (events == c.events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = c.id;
    if (epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev) == 0) c.events = events;
  }

  void CloseNow(Connection& c) {
    if (c.ssl) {
      SSL_free(c.ssl);
      c.ssl = nullptr;
    }
    if (c.fd >= 0) {
      epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
      c.fd = -1;
    }
  }

  // Closes now; the table entry goes at the end of the loop iteration (Reap), so that callers up
  // the stack may still look at `c.phase`.
  void Close(Connection& c) {
    if (c.phase == Phase::kClosed) return;
    CloseNow(c);
    c.phase = Phase::kClosed;
    --open_;
    closed_.push_back(c.id);
  }

  void Reap() {
    for (uint64_t id : closed_) conns_.erase(id);
    closed_.clear();
  }

  void OnEvent(Connection& c, uint32_t events) {
    if (events & (EPOLLERR | EPOLLHUP)) return Close(c);
    switch (c.phase) {
      case Phase::kHandshake:
        return Handshake(c);
      case Phase::kReading:
        return Read(c);
      case Phase::kWriting:
        return Write(c);
      case Phase::kDraining:
        return Drain(c);
      case Phase::kAuthWait:
        // Nothing is read while the check runs. A client that shut its side still gets its
        // answer (EPOLLHUP above closes one that is gone entirely).
        if (events & EPOLLRDHUP) {
          c.peer_closed = true;
          SetEvents(c, 0);
        }
        return;
      case Phase::kClosed:
        return;
    }
  }

  // I/O on a plain or TLS connection: bytes moved, 0 for end of stream, -1 would block (with
  // `want_write` when TLS needs the socket writable first), -2 error.
  ssize_t Receive(Connection& c, char* buffer, std::size_t size, bool& want_write) {
    want_write = false;
    if (!c.ssl) {
      const ssize_t n = recv(c.fd, buffer, size, 0);
      if (n >= 0) return n;
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
    }
    const int n = SSL_read(c.ssl, buffer, static_cast<int>(size));
    if (n > 0) return n;
    switch (SSL_get_error(c.ssl, n)) {
      case SSL_ERROR_WANT_READ:
        return -1;
      case SSL_ERROR_WANT_WRITE:
        want_write = true;
        return -1;
      case SSL_ERROR_ZERO_RETURN:
        return 0;
      default:
        ERR_clear_error();
        return -2;
    }
  }

  ssize_t Send(Connection& c, const char* data, std::size_t size, bool& want_read) {
    want_read = false;
    if (!c.ssl) {
      const ssize_t n = send(c.fd, data, size, MSG_NOSIGNAL);
      if (n >= 0) return n;
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
    }
    const int n = SSL_write(c.ssl, data, static_cast<int>(std::min<std::size_t>(size, INT32_MAX)));
    if (n > 0) return n;
    switch (SSL_get_error(c.ssl, n)) {
      case SSL_ERROR_WANT_WRITE:
        return -1;
      case SSL_ERROR_WANT_READ:
        want_read = true;
        return -1;
      default:
        ERR_clear_error();
        return -2;
    }
  }

  void Handshake(Connection& c) {
    if (!c.plaintext_checked) {
      // A TLS connection starts with a handshake record (0x16). Plain HTTP gets a plain answer.
      char first[8];
      const ssize_t n = recv(c.fd, first, sizeof first, MSG_PEEK);
      if (n == 0) return Close(c);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) Close(c);
        return;
      }
      c.plaintext_checked = true;
      if (first[0] != 0x16) {
        Count([](ServerStats& s) { ++s.closed_bad_request; });
        if (std::isupper(static_cast<unsigned char>(first[0]))) {
          static const std::string kAnswer =
              "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
              "Connection: close\r\n\r\nnodehealth: this port expects TLS (https://)\n";
          [[maybe_unused]] ssize_t w = send(c.fd, kAnswer.data(), kAnswer.size(), MSG_NOSIGNAL);
          c.close_after_write = true;
          shutdown(c.fd, SHUT_WR);
          SSL_free(c.ssl);
          c.ssl = nullptr;
          return StartDraining(c);
        }
        return Close(c);
      }
    }
    const int r = SSL_do_handshake(c.ssl);
    if (r == 1) {
      c.phase = Phase::kReading;
      return Read(c);  // the client may have sent its request with the handshake's end
    }
    switch (SSL_get_error(c.ssl, r)) {
      case SSL_ERROR_WANT_READ:
        return SetEvents(c, EPOLLIN);
      case SSL_ERROR_WANT_WRITE:
        return SetEvents(c, EPOLLOUT);
      default: {
        const unsigned long e = ERR_get_error();
        ERR_clear_error();
        char reason[256] = "connection closed";
        if (e != 0) ERR_error_string_n(e, reason, sizeof reason);
        spdlog::debug("http: TLS handshake failed: {}", reason);
        Count([](ServerStats& s) { ++s.tls_handshake_failures; });
        return Close(c);
      }
    }
  }

  void Read(Connection& c) {
    char buffer[kReadChunk];
    bool want_write = false;
    while (c.in.size() < options_.limits.max_head_bytes) {
      const ssize_t n = Receive(c, buffer, sizeof buffer, want_write);
      if (n == -1) break;
      if (n == -2) return Close(c);
      if (n == 0) {
        c.peer_closed = true;  // what is here is still answered; then the connection closes
        break;
      }
      if (c.idle) {
        // The first byte of the next request: the request deadline starts now.
        c.idle = false;
        c.waiting_since = Clock::now();
        c.deadline = c.waiting_since + options_.request_timeout;
      }
      c.in.append(buffer, static_cast<std::size_t>(n));
    }
    if (c.peer_closed) {
      Consume(c);
      if (c.phase == Phase::kReading) Close(c);  // nothing complete to answer
      return;
    }
    SetEvents(c, want_write ? EPOLLIN | EPOLLOUT : EPOLLIN);
    Consume(c);
  }

  // Parses and answers what `in` holds, one request at a time (pipelining keeps the order).
  void Consume(Connection& c) {
    while (c.phase == Phase::kReading && !c.in.empty()) {
      const bool worth_parsing = c.scanned == 0 ||
                                 c.in.find('\n', c.scanned) != std::string::npos ||
                                 c.in.size() >= options_.limits.max_head_bytes;
      if (!worth_parsing) return;  // no new line end: the result cannot have changed
      ParseResult parsed = ParseRequest(c.in, options_.limits);
      if (parsed.status == ParseStatus::kIncomplete) {
        c.scanned = c.in.size();
        return;
      }
      if (parsed.status == ParseStatus::kError) {
        Count([](ServerStats& s) { ++s.closed_bad_request; });
        spdlog::debug("http: bad request: {}", parsed.error);
        Request none;
        none.keep_alive = false;
        return Respond(c, TextResponse(parsed.error_status, parsed.error + "\n"), none);
      }
      c.in.erase(0, parsed.consumed);
      c.scanned = 0;
      Dispatch(c, std::move(parsed.request));
    }
  }

  void Dispatch(Connection& c, Request request) {
    if (request.method != "GET" && request.method != "HEAD") {
      return Respond(c, TextResponse(405, "only GET and HEAD\n", {{"Allow", "GET, HEAD"}}),
                     request);
    }
    if (request.path == "*") {
      request.keep_alive = false;
      return Respond(c, TextResponse(400, "no resource \"*\"\n"), request);
    }
    switch (auth_->Check(request.authorization, c.id)) {
      case BasicAuthenticator::Verdict::kAllowed:
        return Answer(c, request);
      case BasicAuthenticator::Verdict::kDenied:
        return Deny(c, request);
      case BasicAuthenticator::Verdict::kBusy:
        Count([](ServerStats& s) { ++s.auth_busy; });
        return Respond(
            c, TextResponse(503, "too many credentials to check; retry\n", {{"Retry-After", "1"}}),
            request);
      case BasicAuthenticator::Verdict::kPending:
        c.phase = Phase::kAuthWait;
        c.pending = std::move(request);
        c.deadline = Clock::now() + options_.auth_timeout;
        return SetEvents(c, 0);  // EPOLLRDHUP only: a client that leaves is let go
    }
  }

  void Answer(Connection& c, const Request& request) {
    Response response;
    try {
      response = handler_(request);
    } catch (const std::exception& e) {
      spdlog::error("http: handler for {} failed: {}", request.path, e.what());
      response = TextResponse(500, "internal error\n");
    }
    Respond(c, response, request);
  }

  void Deny(Connection& c, const Request& request) {
    Count([](ServerStats& s) { ++s.auth_failures; });
    Respond(c,
            TextResponse(401, Unauthorized(), {{"WWW-Authenticate", "Basic realm=\"nodehealth\""}}),
            request);
  }

  void Respond(Connection& c, const Response& response, const Request& request) {
    const bool keep_alive = request.keep_alive && !request.has_body && !c.peer_closed && !stop_;
    ResponseFraming framing;
    framing.head_request = request.method == "HEAD";
    framing.keep_alive = keep_alive;
    framing.minor_version = request.minor_version;
    framing.extra_fields = &security_->headers;
    c.out = RenderResponse(response, framing);
    c.out_done = 0;
    c.close_after_write = !keep_alive;
    c.phase = Phase::kWriting;
    c.deadline = Clock::now() + options_.write_timeout;
    c.waiting_since = Clock::now();
    Count([&](ServerStats& s) { ++s.responses[response.status]; });
    Write(c);
  }

  void Write(Connection& c) {
    bool want_read = false;
    while (c.out_done < c.out.size()) {
      const ssize_t n = Send(c, c.out.data() + c.out_done, c.out.size() - c.out_done, want_read);
      if (n == -1) return SetEvents(c, want_read ? EPOLLIN : EPOLLOUT);
      if (n < 0) return Close(c);
      c.out_done += static_cast<std::size_t>(n);
      c.waiting_since = Clock::now();  // progress: not a stalled reader
    }
    c.out.clear();
    c.out.shrink_to_fit();  // an idle connection keeps no copy of a 78 KB page
    c.out_done = 0;
    if (c.close_after_write) {
      if (c.ssl) SSL_shutdown(c.ssl);  // close_notify, once: no waiting for the client's
      shutdown(c.fd, SHUT_WR);
      return StartDraining(c);
    }
    c.phase = Phase::kReading;
    const Clock::time_point now = Clock::now();
    c.waiting_since = now;
    if (c.in.empty()) {
      c.idle = true;
      c.deadline = now + options_.idle_timeout;
    } else {
      c.idle = false;  // a pipelined request is already here
      c.deadline = now + options_.request_timeout;
    }
    // Read, not only Consume: TLS may hold decrypted bytes that no socket event will announce.
    Read(c);
  }

  // After "Connection: close": the response is out and our side shut; reading what the client
  // still sends (a body we did not want) lets the kernel deliver the response instead of
  // resetting the connection over unread bytes. Bounded in bytes and time.
  void StartDraining(Connection& c) {
    c.phase = Phase::kDraining;
    c.deadline = Clock::now() + kDrainTime;
    c.in.clear();
    SetEvents(c, EPOLLIN);
  }

  void Drain(Connection& c) {
    char buffer[kReadChunk];
    while (true) {
      const ssize_t n = recv(c.fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        c.drained += static_cast<std::size_t>(n);
        if (c.drained > kMaxDrainBytes) return Close(c);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
      return Close(c);
    }
  }

  void Expire(Clock::time_point now) {
    std::vector<uint64_t> due;
    for (const auto& [id, c] : conns_) {
      if (c->deadline <= now) due.push_back(id);
    }
    for (uint64_t id : due) {
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      Connection& c = *it->second;
      switch (c.phase) {
        case Phase::kHandshake:
          Count([](ServerStats& s) { ++s.closed_request_timeout; });
          Close(c);
          break;
        case Phase::kReading:
          if (c.idle) {
            Count([](ServerStats& s) { ++s.closed_idle; });
            Close(c);
          } else {
            Count([](ServerStats& s) { ++s.closed_request_timeout; });
            if (c.in.empty()) {
              Close(c);  // never sent a byte: nothing to tell it
            } else {
              TimeOut(c);
            }
          }
          break;
        case Phase::kAuthWait: {
          Request request = std::move(c.pending);
          request.keep_alive = false;
          Respond(c,
                  TextResponse(503, "credential check timed out; retry\n", {{"Retry-After", "1"}}),
                  request);
          break;
        }
        case Phase::kWriting:
          Count([](ServerStats& s) { ++s.closed_write_timeout; });
          Close(c);
          break;
        case Phase::kDraining:
        case Phase::kClosed:
          Close(c);
          break;
      }
    }
  }

  // 408 to a client that began a request and did not finish it in time: one attempt to write
  // it, then the connection is closed whatever happened.
  void TimeOut(Connection& c) {
    ResponseFraming framing;
    framing.keep_alive = false;
    const std::string text =
        RenderResponse(TextResponse(408, "request not received in time\n"), framing);
    bool want_read = false;
    Send(c, text.data(), text.size(), want_read);
    Count([](ServerStats& s) { ++s.responses[408]; });
    Close(c);
  }

  const ServerOptions options_;
  const RequestHandler handler_;
  const int listener_;
  const int epoll_;
  const int wake_;
  const int port_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  // Loop thread only.
  std::shared_ptr<const ServerSecurity> security_;
  std::unique_ptr<BasicAuthenticator> auth_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> conns_;
  std::vector<uint64_t> closed_;  // closed this iteration, erased by Reap
  uint64_t next_id_ = 2;
  bool accept_paused_ = false;
  Clock::time_point accept_resume_;
  std::atomic<uint64_t> open_{0};

  std::mutex pending_mutex_;
  std::shared_ptr<const ServerSecurity> pending_security_;
  mutable std::mutex stats_mutex_;
  ServerStats stats_;
};

Expected<std::unique_ptr<HttpServer>> HttpServer::Start(
    const ServerOptions& options, std::shared_ptr<const ServerSecurity> security,
    RequestHandler handler) {
  Expected<ListenAddress> address = ParseListenAddress(options.listen);
  if (!address) return address.error();
  Expected<int> listener = OpenListener(*address, options.listen);
  if (!listener) return listener.error();
  const int epoll = epoll_create1(EPOLL_CLOEXEC);
  const int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll < 0 || wake < 0) {
    const std::string why = Errno(epoll < 0 ? "epoll_create1" : "eventfd");
    for (int fd : {*listener, epoll, wake}) {
      if (fd >= 0) close(fd);
    }
    return MakeError("cannot start the HTTP server: " + why);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenerId;
  epoll_ctl(epoll, EPOLL_CTL_ADD, *listener, &ev);
  ev.data.u64 = kWakeId;
  epoll_ctl(epoll, EPOLL_CTL_ADD, wake, &ev);
  if (!security) security = std::make_shared<const ServerSecurity>();
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->loop_ = std::make_unique<Loop>(options, std::move(security), std::move(handler),
                                         *listener, epoll, wake);
  server->loop_->Begin();
  return server;
}

HttpServer::~HttpServer() = default;

int HttpServer::port() const { return loop_->port(); }

void HttpServer::SetSecurity(std::shared_ptr<const ServerSecurity> security) {
  if (!security) security = std::make_shared<const ServerSecurity>();
  loop_->SetSecurity(std::move(security));
}

ServerStats HttpServer::Stats() const { return loop_->Stats(); }

}  // namespace nodehealth::http
