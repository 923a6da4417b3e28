// nodehealth's HTTP server (agent/http/http_server.h) in process, over loopback: keep-alive and
// pipelining, HEAD, 405 and errors, the request and idle deadlines, the connection bound and
// which connection it closes, gzip, TLS with every client-certificate policy, basic auth with its
// cache and its worker, a security swap, start-up errors and stopping with clients attached.
#include "agent/http/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <fstream>
#include <random>
#include <thread>

#include "agent/http/web_config.h"
#include "tests/support/fixture_node.h"
#include "tests/support/http_client.h"
#include "tests/support/tls_client.h"
#include "tests/support/tls_test_files.h"

namespace nodehealth::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::ConnectSlowClient;
using testing::WaitForPeerClose;

// Echoes the path; /big answers 200 KB (larger than a socket buffer); /gz a gzip body.
Response Echo(const Request& r) {
  if (r.path == "/big") return TextResponse(200, std::string(200 * 1024, 'b'));
  if (r.path == "/huge") return TextResponse(200, std::string(16 << 20, 'h'));  // > tcp_wmem
  Response out = TextResponse(200, "path=" + r.path + " query=" + r.query + "\n");
  if (r.path == "/gz" && r.accepts_gzip) {
    out.body = std::make_shared<const std::string>(Gzip(*out.body));
    out.gzip = true;
  }
  return out;
}

struct Server {
  std::unique_ptr<HttpServer> server;
  std::string host_port;
  explicit Server(ServerOptions options = {},
                  std::shared_ptr<const ServerSecurity> security = nullptr) {
    options.listen = "127.0.0.1:0";
    Expected<std::unique_ptr<HttpServer>> started = HttpServer::Start(options, security, Echo);
    if (!started) {
      ADD_FAILURE() << started.error().message;
      return;
    }
    server = std::move(*started);
    host_port = "127.0.0.1:" + std::to_string(server->port());
  }
};

// Reads responses (Content-Length framed; no body for HEAD) from a connected socket, keeping
// what arrives beyond them for the next call.
class ResponseReader {
 public:
  explicit ResponseReader(int fd) : fd_(fd) {}
  // Up to `count` responses within `timeout`; fewer when the server closes or time runs out.
  std::vector<testing::HttpResponse> Read(int count, bool head = false,
                                          std::chrono::milliseconds timeout = 5s) {
    std::vector<testing::HttpResponse> out;
    const auto deadline = Clock::now() + timeout;
    bool closed = false;
    while (static_cast<int>(out.size()) < count) {
      const std::size_t head_end = buffer_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        testing::HttpResponse r;
        testing::ParseHttpResponse(buffer_.substr(0, head_end + 4), r);
        const std::size_t length = head || !r.headers.count("content-length")
                                       ? 0
                                       : std::stoul(r.headers["content-length"]);
        if (buffer_.size() >= head_end + 4 + length) {
          r.body = buffer_.substr(head_end + 4, length);
          buffer_.erase(0, head_end + 4 + length);
          out.push_back(std::move(r));
          continue;
        }
      }
      if (closed || Clock::now() >= deadline) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char chunk[65536];
      const ssize_t n = recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
      if (n <= 0) {
        closed = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
        continue;
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_;
  std::string buffer_;
};

std::vector<testing::HttpResponse> ReadResponses(int fd, int count, bool head = false,
                                                 std::chrono::milliseconds timeout = 5s) {
  return ResponseReader(fd).Read(count, head, timeout);
}

bool StillOpen(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 0) == 0) return true;
  char c;
  return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

TEST(HttpServerTest, KeepAlivePipeliningAndHead) {
  Server s;
  ASSERT_TRUE(s.server);
  const int fd =
      ConnectSlowClient(s.host_port,
                        "GET /a?x=1 HTTP/1.1\r\nHost: t\r\n\r\nHEAD /b HTTP/1.1\r\nHost: t\r\n\r\n"
                        "GET http://t/c HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_GE(fd, 0);
  ResponseReader reader(fd);
  std::vector<testing::HttpResponse> r = reader.Read(1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].body, "path=/a query=x=1\n");
  EXPECT_EQ(r[0].headers.count("connection"), 0u);  // HTTP/1.1 keeps alive without saying so
  r = reader.Read(1, /*head=*/true);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].headers["content-length"], "15");  // GET /b's length, no body
  r = reader.Read(1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body, "path=/c query=\n");
  EXPECT_TRUE(StillOpen(fd));
  // Another request on the same connection, then one that asks to close.
  const std::string last = "GET /d HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(send(fd, last.data(), last.size(), MSG_NOSIGNAL), static_cast<ssize_t>(last.size()));
  r = reader.Read(1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].headers["connection"], "close");
  EXPECT_TRUE(WaitForPeerClose(fd, 2s));
  close(fd);
  EXPECT_EQ(s.server->Stats().responses[200], 4u);
}

TEST(HttpServerTest, Http10KeepAliveOnlyWhenAsked) {
  Server s;
  int fd = ConnectSlowClient(s.host_port, "GET /a HTTP/1.0\r\n\r\n");
  std::vector<testing::HttpResponse> r = ReadResponses(fd, 1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].headers["connection"], "close");
  EXPECT_TRUE(WaitForPeerClose(fd, 2s));
  close(fd);
  fd = ConnectSlowClient(s.host_port, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  r = ReadResponses(fd, 1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].headers["connection"], "keep-alive");
  EXPECT_TRUE(StillOpen(fd));
  close(fd);
}

TEST(HttpServerTest, MethodsErrorsAndBodies) {
  Server s;
  testing::HttpResponse r = testing::HttpRaw(
      s.host_port, "DELETE /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET, HEAD");
  // A body is not read: the answer comes, then the connection closes (no reset over the body).
  r = testing::HttpRaw(s.host_port,
                       "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 10000\r\n\r\n" +
                           std::string(10000, 'x'));
  EXPECT_EQ(r.status, 405) << r.error;
  EXPECT_EQ(r.headers["connection"], "close");
  r = testing::HttpRaw(s.host_port, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "HTTP/1.1 request without Host\n");
  r = testing::HttpRaw(s.host_port, "GET / HTTP/2.0\r\nHost: t\r\n\r\n");
  EXPECT_EQ(r.status, 505);
  r = testing::HttpRaw(s.host_port, "GET * HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(r.status, 400);
  r = testing::HttpRaw(s.host_port,
                       "GET / HTTP/1.1\r\nHost: t\r\nX: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_EQ(r.status, 431);
  r = testing::HttpRaw(s.host_port, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9));
  EXPECT_EQ(r.status, 400);
  // The peer half-closes after its request: it still gets the answer.
  const int fd = ConnectSlowClient(s.host_port, "GET /half HTTP/1.1\r\nHost: t\r\n\r\n");
  shutdown(fd, SHUT_WR);
  std::vector<testing::HttpResponse> answers = ReadResponses(fd, 1);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].body, "path=/half query=\n");
  close(fd);
  EXPECT_EQ(s.server->Stats().closed_bad_request, 4u);  // 400 (no Host), 505, 431, TLS bytes
}

TEST(HttpServerTest, LargeResponsesAndGzip) {
  Server s;
  testing::HttpResponse r = testing::HttpGet(s.host_port, "/big");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), 200u * 1024);
  r = testing::HttpGet(s.host_port, "/gz", 5s, {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(r.headers["content-encoding"], "gzip");
  std::string plain(64, '\0');
  z_stream z{};
  inflateInit2(&z, 16 + MAX_WBITS);
  z.next_in = reinterpret_cast<Bytef*>(r.body.data());
  z.avail_in = static_cast<uInt>(r.body.size());
  z.next_out = reinterpret_cast<Bytef*>(plain.data());
  z.avail_out = static_cast<uInt>(plain.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  plain.resize(z.total_out);
  inflateEnd(&z);
  EXPECT_EQ(plain, "path=/gz query=\n");
}

std::string Gunzip(const std::string& gz) {
  std::string out;
  z_stream z{};
  inflateInit2(&z, 16 + MAX_WBITS);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  char chunk[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - z.avail_out);
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END && z.avail_in == 0 ? out : "(corrupt: " + std::to_string(rc) + ")";
}

TEST(HttpServerTest, GzipPrefixPlusTailIsOneValidMember) {
  std::mt19937 random(3);
  std::string prefix;
  for (int i = 0; i < 300000; ++i) prefix += static_cast<char>('a' + random() % 7);
  for (const std::string& tail : {std::string(), std::string("tail\n"), prefix.substr(0, 70000)}) {
    const GzipPrefix gz(prefix);
    ASSERT_TRUE(gz.ok());
    EXPECT_EQ(Gunzip(gz.Finish(tail)), prefix + tail) << tail.size();
  }
  EXPECT_EQ(Gunzip(Gzip("")), "");
  EXPECT_EQ(Gunzip(Gzip("x")), "x");
}

TEST(HttpServerTest, DeadlinesCloseSlowAndIdleConnections) {
  ServerOptions options;
  options.request_timeout = 300ms;
  options.idle_timeout = 600ms;
  Server s(options);
  const int silent = ConnectSlowClient(s.host_port);
  const int trickler = ConnectSlowClient(s.host_port, "GET /metrics HTTP/1.1\r\nHo");
  const int kept = ConnectSlowClient(s.host_port, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_EQ(ReadResponses(kept, 1).size(), 1u);
  // The trickler gets a 408, the silent one is closed without a word.
  const std::vector<testing::HttpResponse> late = ReadResponses(trickler, 1, false, 3s);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].status, 408);
  EXPECT_TRUE(WaitForPeerClose(trickler, 2s));
  EXPECT_TRUE(WaitForPeerClose(silent, 2s));
  EXPECT_TRUE(WaitForPeerClose(kept, 3s));  // idle past 600 ms
  for (int fd : {silent, trickler, kept}) close(fd);
  const ServerStats stats = s.server->Stats();
  EXPECT_EQ(stats.closed_request_timeout, 2u);
  EXPECT_EQ(stats.closed_idle, 1u);
  EXPECT_EQ(stats.responses.at(408), 1u);
}

bool OpenConnectionsReach(const HttpServer& server, uint64_t count) {
  const auto deadline = Clock::now() + 2s;
  while (server.Stats().connections_open != count) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

TEST(HttpServerTest, AtTheBoundTheLongestWaitingConnectionMakesRoom) {
  ServerOptions options;
  options.max_connections = 4;
  options.request_timeout = 30s;
  options.idle_timeout = 30s;
  Server s(options);
  // A kept-alive connection that finished a request, then three that never send one.
  const int kept = ConnectSlowClient(s.host_port, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_EQ(ReadResponses(kept, 1).size(), 1u);
  std::vector<int> silent;
  for (int i = 0; i < 3; ++i) {
    silent.push_back(ConnectSlowClient(s.host_port));
    std::this_thread::sleep_for(20ms);  // an order the server can see
  }
  ASSERT_TRUE(OpenConnectionsReach(*s.server, 4));
  // A prompt client at the bound is served; the idle kept-alive connection made room for it.
  testing::HttpResponse r = testing::HttpGet(s.host_port, "/prompt", 2s);
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_TRUE(WaitForPeerClose(kept, 1s));
  EXPECT_TRUE(StillOpen(silent[0]));
  // At the bound again; the next prompt client: the connection waiting the longest goes.
  ASSERT_TRUE(OpenConnectionsReach(*s.server, 3));
  silent.push_back(ConnectSlowClient(s.host_port));
  ASSERT_TRUE(OpenConnectionsReach(*s.server, 4));
  r = testing::HttpGet(s.host_port, "/prompt", 2s);
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_TRUE(WaitForPeerClose(silent[0], 1s));
  EXPECT_TRUE(StillOpen(silent[1]));
  EXPECT_TRUE(StillOpen(silent[2]));
  // A flood of silent connections never keeps a prompt client out.
  std::vector<int> flood;
  for (int i = 0; i < 40; ++i) flood.push_back(ConnectSlowClient(s.host_port));
  r = testing::HttpGet(s.host_port, "/prompt", 2s);
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_GE(s.server->Stats().closed_evicted, 40u);
  EXPECT_LE(s.server->Stats().connections_open, 4u);
  for (int fd : flood) close(fd);
  for (int fd : silent) close(fd);
  close(kept);
}

TEST(HttpServerTest, ReadersThatStallMakeRoomToo) {
  ServerOptions options;
  options.max_connections = 4;
  Server s(options);
  // Four clients that ask for a page larger than any socket buffer and never read it: their
  // responses stay unwritten, and they hold every slot.
  std::vector<int> stalled;
  for (int i = 0; i < 4; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const int tiny = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(s.server->port()));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    const std::string requests = "GET /huge HTTP/1.1\r\nHost: t\r\n\r\n";
    ASSERT_EQ(send(fd, requests.data(), requests.size(), 0), static_cast<ssize_t>(requests.size()));
    stalled.push_back(fd);
  }
  ASSERT_TRUE(OpenConnectionsReach(*s.server, 4));
  std::this_thread::sleep_for(1500ms);  // past the second that marks a reader as stalled
  const testing::HttpResponse r = testing::HttpGet(s.host_port, "/prompt", 2s);
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(s.server->Stats().closed_evicted, 1u);
  for (int fd : stalled) close(fd);
}

TEST(HttpServerTest, StoppingWithClientsAttachedIsQuick) {
  auto s = std::make_unique<Server>();
  std::vector<int> fds;
  for (int i = 0; i < 10; ++i) fds.push_back(ConnectSlowClient(s->host_port, "GET /big HTT"));
  // One that does not read a large response: its write is pending.
  fds.push_back(ConnectSlowClient(s->host_port,
                                  "GET /big HTTP/1.1\r\nHost: t\r\n\r\nGET /big "
                                  "HTTP/1.1\r\nHost: t\r\n\r\nGET /big HTTP/1.1\r\n"
                                  "Host: t\r\n\r\n"));
  std::this_thread::sleep_for(100ms);
  const auto start = Clock::now();
  s.reset();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 1.0);
  for (int fd : fds) {
    EXPECT_TRUE(WaitForPeerClose(fd, 1s));
    close(fd);
  }
}

TEST(HttpServerTest, StartErrors) {
  Server first;
  ServerOptions options;
  options.listen = first.host_port;
  Expected<std::unique_ptr<HttpServer>> second = HttpServer::Start(options, nullptr, Echo);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message,
            "cannot listen on " + first.host_port + ": bind: Address already in use");
  options.listen = "192.0.2.1:0";  // TEST-NET-1: not an address of this machine
  second = HttpServer::Start(options, nullptr, Echo);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message,
            "cannot listen on 192.0.2.1:0: bind: Cannot assign requested address");
  options.listen = "[::1]:0";
  second = HttpServer::Start(options, nullptr, Echo);
  ASSERT_TRUE(second) << second.error().message;
  const testing::HttpResponse r =
      testing::HttpGet("[::1]:" + std::to_string((*second)->port()), "/v6");
  EXPECT_EQ(r.body, "path=/v6 query=\n");
}

// --- TLS and basic authentication ----------------------------------------------------------

class SecureServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = testing::MakeTestPki(dir_.path());
    ASSERT_TRUE(pki_.ok()) << pki_.error;
  }
  std::shared_ptr<const ServerSecurity> Security(const std::string& yaml) {
    const std::string path = dir_.path() + "/web.yml";
    std::ofstream(path, std::ios::trunc) << yaml;
    Expected<WebConfig> config = LoadWebConfig(path);
    EXPECT_TRUE(config) << config.error().message;
    if (!config) return nullptr;
    Expected<std::shared_ptr<const ServerSecurity>> security = BuildServerSecurity(*config);
    EXPECT_TRUE(security) << security.error().message;
    return security ? *security : nullptr;
  }
  testing::TlsClientOptions Verified() const { return {.ca_file = pki_.ca_cert}; }
  testing::TlsClientOptions WithCert(const std::string& cert, const std::string& key) const {
    return {.ca_file = pki_.ca_cert, .cert_file = cert, .key_file = key};
  }
  testing::TempDir dir_;
  testing::TestPki pki_;
};

constexpr char kTls[] = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

TEST_F(SecureServerTest, TlsAndPlainHttpToTheTlsPort) {
  Server s({}, Security(kTls));
  testing::TlsResponse r = testing::TlsGet(s.host_port, "/tls", Verified());
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "path=/tls query=\n");
  const testing::HttpResponse plain = testing::HttpGet(s.host_port, "/tls");
  EXPECT_EQ(plain.status, 400);
  EXPECT_EQ(plain.body, "nodehealth: this port expects TLS (https://)\n");
  // A handshake that never completes is closed at the request deadline (5 s here): see the
  // e2e test; a garbage record ends at once.
  testing::HttpResponse garbage =
      testing::HttpRaw(s.host_port, std::string("\x16\x03\x01\x00\x05hello", 10), 3s);
  EXPECT_FALSE(garbage.timed_out);
  EXPECT_EQ(s.server->Stats().tls_handshake_failures, 1u);
}

TEST_F(SecureServerTest, ClientCertificatePolicies) {
  struct Case {
    std::string policy;
    bool none_ok, ours_ok, strangers_ok;
  };
  const Case cases[] = {
      {"RequireAndVerifyClientCert", false, true, false},
      {"VerifyClientCertIfGiven", true, true, false},
      {"RequireAnyClientCert", false, true, true},
      {"RequestClientCert", true, true, true},
  };
  for (const Case& c : cases) {
    Server s({},
             Security(std::string(kTls) + "  client_auth_type: " + c.policy +
                      (c.policy.find("Verify") != std::string::npos ? "\n  client_ca_file: ca.crt\n"
                                                                    : "\n")));
    const testing::TlsResponse none = testing::TlsGet(s.host_port, "/", Verified());
    const testing::TlsResponse ours =
        testing::TlsGet(s.host_port, "/", WithCert(pki_.client_cert, pki_.client_key));
    const testing::TlsResponse stranger =
        testing::TlsGet(s.host_port, "/", WithCert(pki_.stranger_cert, pki_.stranger_key));
    EXPECT_EQ(none.status == 200, c.none_ok) << c.policy << ": " << none.error;
    EXPECT_EQ(ours.status == 200, c.ours_ok) << c.policy << ": " << ours.error;
    EXPECT_EQ(stranger.status == 200, c.strangers_ok) << c.policy << ": " << stranger.error;
    if (!c.none_ok) {
      EXPECT_TRUE(none.handshake_failed) << c.policy << ": " << none.error;
    }
  }
}

TEST_F(SecureServerTest, BasicAuthAnswersAndCaches) {
  const std::string hash = testing::BcryptHash("s3cret", 6);
  ASSERT_FALSE(hash.empty());
  Server s({}, Security(std::string(kTls) + "basic_auth_users:\n  prometheus: " + hash + "\n"));
  testing::TlsResponse r = testing::TlsGet(s.host_port, "/metrics", Verified());
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers["www-authenticate"], "Basic realm=\"nodehealth\"");
  for (const auto& [user, password] : std::vector<std::pair<std::string, std::string>>{
           {"prometheus", "wrong"}, {"nobody", "s3cret"}, {"prometheus", "s3cret\n"}, {"", ""}}) {
    r = testing::TlsGet(s.host_port, "/metrics", Verified(),
                        {{"Authorization", testing::BasicAuthorization(user, password)}});
    EXPECT_EQ(r.status, 401) << user << ":" << password;
  }
  r = testing::TlsGet(s.host_port, "/metrics", Verified(), {{"Authorization", "Bearer abc"}});
  EXPECT_EQ(r.status, 401);
  const uint64_t checks_before = s.server->Stats().auth_checks;
  for (int i = 0; i < 5; ++i) {
    r = testing::TlsGet(s.host_port, "/metrics", Verified(),
                        {{"Authorization", testing::BasicAuthorization("prometheus", "s3cret")}});
    EXPECT_EQ(r.status, 200) << r.error;
  }
  // bcrypt ran once for the five: the other four were answered from the cache.
  EXPECT_EQ(s.server->Stats().auth_checks, checks_before + 1);
  EXPECT_EQ(s.server->Stats().auth_failures, 6u);
  // A reloaded web config empties the cache and applies at once (here: another password).
  s.server->SetSecurity(Security(std::string(kTls) + "basic_auth_users:\n  prometheus: " +
                                 testing::BcryptHash("n3w", 4) + "\n"));
  std::this_thread::sleep_for(50ms);
  r = testing::TlsGet(s.host_port, "/metrics", Verified(),
                      {{"Authorization", testing::BasicAuthorization("prometheus", "s3cret")}});
  EXPECT_EQ(r.status, 401);
  r = testing::TlsGet(s.host_port, "/metrics", Verified(),
                      {{"Authorization", testing::BasicAuthorization("prometheus", "n3w")}});
  EXPECT_EQ(r.status, 200);
}

TEST_F(SecureServerTest, WrongPasswordsNeverStallCachedScrapes) {
  // bcrypt at cost 12 (a few hundred ms here) and a queue of 4: a flood of wrong passwords fills
  // the queue (503, Retry-After) while the cached scraper is answered at once. Were bcrypt run on
  // the loop, every scrape would wait behind the flood's checks.
  const std::string hash = testing::BcryptHash("s3cret", 12);
  ServerOptions options;
  options.auth_queue = 4;
  Server s(options, Security("basic_auth_users:\n  prometheus: " + hash + "\n"));
  const std::map<std::string, std::string> good = {
      {"Authorization", testing::BasicAuthorization("prometheus", "s3cret")}};
  ASSERT_EQ(testing::HttpGet(s.host_port, "/metrics", 10s, good).status, 200);  // now cached
  std::atomic<bool> stop{false};
  std::atomic<int> busy{0};
  std::vector<std::thread> flood;
  for (int i = 0; i < 8; ++i) {
    flood.emplace_back([&, i] {
      while (!stop) {
        const testing::HttpResponse r = testing::HttpGet(
            s.host_port, "/metrics", 10s,
            {{"Authorization",
              testing::BasicAuthorization("prometheus", "guess" + std::to_string(i))}});
        if (r.status == 503) {
          ++busy;
          std::this_thread::sleep_for(10ms);
        }
      }
    });
  }
  std::this_thread::sleep_for(300ms);
  double slowest = 0;
  for (int i = 0; i < 20; ++i) {
    const auto start = Clock::now();
    const testing::HttpResponse r = testing::HttpGet(s.host_port, "/metrics", 5s, good);
    slowest = std::max(slowest, std::chrono::duration<double>(Clock::now() - start).count());
    EXPECT_EQ(r.status, 200) << r.error;
    std::this_thread::sleep_for(50ms);
  }
  stop = true;
  for (std::thread& t : flood) t.join();
  EXPECT_LT(slowest, 0.25) << "a cached scrape waited behind the wrong passwords";
  EXPECT_GT(busy.load(), 0) << "the queue never filled: the flood did not load the checker";
  EXPECT_GT(s.server->Stats().auth_busy, 0u);
}

}  // namespace
}  // namespace nodehealth::http
