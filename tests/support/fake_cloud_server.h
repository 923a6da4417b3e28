// A stand-in for a cloud's endpoints in tests (Azure IMDS and Resource Manager, Google's metadata
// server and Compute API): an HTTP/1.1 server on 127.0.0.1, plain or TLS (a test CA's server
// certificate, tls_test_files.h), that records every request and answers with what the test's
// handler returns, optionally after a delay (a hung cloud). One connection at a time, one
// request per connection (Connection: close), which is all libcurl's one-shot exchanges need.
//
// Ownership: the server owns its thread and sockets; the destructor stops it within ~100 ms (a
// delayed answer is abandoned). Thread safety: requests() and port() from any thread; the
// handler runs on the server's thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace nodehealth::testing {

struct RecordedRequest {
  std::string method;
  std::string target;                          // path and query, as sent
  std::map<std::string, std::string> headers;  // names lower-case
  std::string body;
};

struct CannedResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds delay{0};  // before answering
};

class FakeCloudServer {
 public:
  using Handler = std::function<CannedResponse(const RecordedRequest&)>;

  // TLS when cert_file and key_file are given. nullptr when it cannot listen.
  static std::unique_ptr<FakeCloudServer> Start(Handler handler, const std::string& cert_file = "",
                                                const std::string& key_file = "");
  ~FakeCloudServer();
  FakeCloudServer(const FakeCloudServer&) = delete;
  FakeCloudServer& operator=(const FakeCloudServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT".
  std::string url() const;
  std::vector<RecordedRequest> requests() const;

 private:
  FakeCloudServer() = default;
  void Serve();
  void HandleConnection(int fd);

  Handler handler_;
  void* ssl_ctx_ = nullptr;  // SSL_CTX*
  int listen_fd_ = -1;
  int port_ = 0;
  bool stop_ = false;
  mutable std::mutex mutex_;  // guards requests_ and stop_
  std::vector<RecordedRequest> requests_;
  std::thread thread_;
};

}  // namespace nodehealth::testing
