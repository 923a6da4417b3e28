// The HTTP request parser (agent/http/http_request.h) on inline requests: complete, partial and
// pipelined requests, bounds, methods and versions, target forms, keep-alive rules, the fields the
// server acts on, and the malformed requests it must refuse.
#include "agent/http/http_request.h"

#include <gtest/gtest.h>

#include <string>

namespace nodehealth::http {
namespace {

ParseResult Parse(std::string_view text, RequestLimits limits = {}) {
  return ParseRequest(text, limits);
}

void ExpectError(std::string_view text, int status, const std::string& why,
                 RequestLimits limits = {}) {
  const ParseResult r = Parse(text, limits);
  EXPECT_EQ(r.status, ParseStatus::kError) << text;
  EXPECT_EQ(r.error_status, status) << text;
  EXPECT_EQ(r.error, why) << text;
}

TEST(HttpRequestTest, PrometheusScrape) {
  const std::string text =
      "GET /metrics HTTP/1.1\r\nHost: 10.0.0.7:9840\r\nUser-Agent: Prometheus/2.42.0\r\n"
      "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
      "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";
  const ParseResult r = Parse(text);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error;
  EXPECT_EQ(r.consumed, text.size());
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.path, "/metrics");
  EXPECT_EQ(r.request.query, "");
  EXPECT_EQ(r.request.minor_version, 1);
  EXPECT_TRUE(r.request.keep_alive);
  EXPECT_TRUE(r.request.accepts_gzip);
  EXPECT_FALSE(r.request.has_body);
  EXPECT_FALSE(r.request.authorization.has_value());
  EXPECT_EQ(r.request.Field("user-agent"), "Prometheus/2.42.0");
  EXPECT_EQ(r.request.Field("x-prometheus-scrape-timeout-seconds"), "10");
  EXPECT_EQ(r.request.Field("absent"), std::nullopt);
  EXPECT_EQ(r.request.fields.size(), 5u);
}

TEST(HttpRequestTest, PartialRequestsAreIncompleteUntilTheEmptyLine) {
  const std::string whole = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  for (std::size_t n = 0; n < whole.size(); ++n) {
    const ParseResult r = Parse(whole.substr(0, n));
    EXPECT_EQ(r.status, ParseStatus::kIncomplete) << n << ": " << r.error;
  }
  EXPECT_EQ(Parse(whole).status, ParseStatus::kComplete);
}

TEST(HttpRequestTest, PipelinedRequestsAreTakenOneAtATime) {
  const std::string first = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string second = "HEAD /report HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const std::string third_part = "GET /heal";
  const std::string all = first + second + third_part;
  ParseResult r = Parse(all);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, first.size());
  EXPECT_EQ(r.request.path, "/metrics");
  r = Parse(std::string_view(all).substr(first.size()));
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, second.size());
  EXPECT_EQ(r.request.method, "HEAD");
  EXPECT_FALSE(r.request.keep_alive);
  EXPECT_EQ(Parse(third_part).status, ParseStatus::kIncomplete);
}

TEST(HttpRequestTest, BareLineFeedsAndLeadingEmptyLines) {
  const ParseResult r = Parse("\r\n\nGET / HTTP/1.1\nHost: x\n\n");
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error;
  EXPECT_EQ(r.request.path, "/");
  EXPECT_EQ(r.consumed, 27u);
}

TEST(HttpRequestTest, TargetForms) {
  ParseResult r = Parse("GET /metrics?name[]=up&x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.request.path, "/metrics");
  EXPECT_EQ(r.request.query, "name[]=up&x=1");
  r = Parse("GET http://node7:9840/report?pretty HTTP/1.1\r\nHost: node7:9840\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.request.path, "/report");
  EXPECT_EQ(r.request.query, "pretty");
  EXPECT_EQ(r.request.target, "http://node7:9840/report?pretty");
  r = Parse("GET HTTPS://node7 HTTP/1.1\r\nHost: node7\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.request.path, "/");
  r = Parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.request.path, "*");
  ExpectError("GET ftp://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400, "unsupported request target");
  ExpectError("GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400, "unsupported request target");
  ExpectError("GET http:///metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400, "unsupported request target");
}

TEST(HttpRequestTest, KeepAliveRules) {
  struct Case {
    std::string version;
    std::string connection;  // empty: no field
    bool keep_alive;
  };
  const Case cases[] = {
      {"HTTP/1.1", "", true},
      {"HTTP/1.1", "close", false},
      {"HTTP/1.1", "Keep-Alive, CLOSE", false},
      {"HTTP/1.1", "keep-alive", true},
      {"HTTP/1.1", "upgrade", true},
      {"HTTP/1.0", "", false},
      {"HTTP/1.0", "keep-alive", true},
      {"HTTP/1.0", "Keep-Alive", true},
      {"HTTP/1.0", "keep-alive, close", false},
  };
  for (const Case& c : cases) {
    std::string text = "GET / " + c.version + "\r\nHost: x\r\n";
    if (!c.connection.empty()) text += "Connection: " + c.connection + "\r\n";
    const ParseResult r = Parse(text + "\r\n");
    ASSERT_EQ(r.status, ParseStatus::kComplete) << text;
    EXPECT_EQ(r.request.keep_alive, c.keep_alive) << text;
    EXPECT_EQ(r.request.minor_version, c.version == "HTTP/1.1" ? 1 : 0);
  }
  // HTTP/1.0 needs no Host.
  EXPECT_EQ(Parse("GET / HTTP/1.0\r\n\r\n").status, ParseStatus::kComplete);
}

TEST(HttpRequestTest, MethodsAreTokensAndCaseSensitive) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "get", "BREW", "M-SEARCH"}) {
    const ParseResult r = Parse(std::string(method) + " / HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(r.status, ParseStatus::kComplete) << method;
    EXPECT_EQ(r.request.method, method);  // the server answers 405 to all but GET and HEAD
  }
  ExpectError("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed method");
  ExpectError("G(T / HT", 400, "not an HTTP request");  // refused before the line is complete
  ExpectError(" GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request line");
}

TEST(HttpRequestTest, Versions) {
  ExpectError("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "only HTTP/1.0 and HTTP/1.1 are served");
  ExpectError("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "only HTTP/1.0 and HTTP/1.1 are served");
  ExpectError("GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505, "only HTTP/1.0 and HTTP/1.1 are served");
  ExpectError("GET / HTTP/0.9\r\n\r\n", 505, "only HTTP/1.0 and HTTP/1.1 are served");
  ExpectError("GET /\r\n\r\n", 400, "malformed request line");
  ExpectError("GET / http/1.1\r\nHost: x\r\n\r\n", 400, "malformed HTTP version");
  ExpectError("GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400, "malformed HTTP version");
  ExpectError("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request line");
  ExpectError("GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400, "malformed request line");
  // The request line is judged as soon as it is complete, before the fields.
  ExpectError("GET / HTTP/3.0\r\nHost: x", 505, "only HTTP/1.0 and HTTP/1.1 are served");
}

TEST(HttpRequestTest, BadBytesAreRefusedAtOnce) {
  // A TLS ClientHello on the plain port, and garbage: no need to wait for a line end.
  ExpectError(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 400,
              "not an HTTP request");
  ExpectError(std::string("\x00\xff", 2), 400, "not an HTTP request");
  ExpectError("GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request target");
  ExpectError("GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request target");
}

TEST(HttpRequestTest, HeaderFieldSyntax) {
  ExpectError("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "malformed header field name");
  ExpectError("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n", 400,
              "obsolete line folding");
  ExpectError("GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", 400, "header field without a colon");
  ExpectError("GET / HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n", 400,
              "malformed header field name");
  std::string nul = "GET / HTTP/1.1\r\nHost: x\r\nX-A: a";
  nul += '\0';
  nul += "b\r\n\r\n";
  ExpectError(nul, 400, "control character in a header field");
  ExpectError("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400,
              "control character in a header field");
  const ParseResult r = Parse("GET / HTTP/1.1\r\nHOST:x\r\nX-Empty:\r\nX-Tab:\t v \t\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::kComplete) << r.error;
  EXPECT_EQ(r.request.Field("host"), "x");
  EXPECT_EQ(r.request.Field("x-empty"), "");
  EXPECT_EQ(r.request.Field("x-tab"), "v");
}

TEST(HttpRequestTest, HostRules) {
  ExpectError("GET / HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 request without Host");
  ExpectError("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host field");
}

TEST(HttpRequestTest, BodiesAndSmuggling) {
  ParseResult r = Parse("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_TRUE(r.request.has_body);
  // The body is not part of the head (the server answers and closes: bodies are not read).
  EXPECT_EQ(
      std::string_view("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n").size(),
      r.consumed);
  r = Parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_FALSE(r.request.has_body);
  r = Parse("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_TRUE(r.request.has_body);
  r = Parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  ExpectError("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400,
              "conflicting Content-Length fields");
  ExpectError("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\n", 400,
              "malformed Content-Length");
  ExpectError("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400,
              "malformed Content-Length");
  ExpectError("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400,
              "malformed Content-Length");
  ExpectError(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
      "both Content-Length and Transfer-Encoding");
}

TEST(HttpRequestTest, HeadBounds) {
  RequestLimits limits;
  limits.max_head_bytes = 64;
  limits.max_fields = 3;
  // Exactly at the bound is fine.
  std::string text = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ";
  text += std::string(64 - text.size() - 4, 'a') + "\r\n\r\n";
  ASSERT_EQ(text.size(), 64u);
  EXPECT_EQ(Parse(text, limits).status, ParseStatus::kComplete);
  // One byte more, complete or not.
  std::string over = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ";
  over += std::string(64 - over.size() - 3, 'a') + "\r\n\r\n";
  ExpectError(over, 431, "request head too large", limits);
  ExpectError(over.substr(0, 64), 431, "request head too large", limits);
  ExpectError("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431,
              "too many header fields", limits);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n", limits).status,
            ParseStatus::kComplete);
  // Empty lines alone count against the bound too.
  ExpectError(std::string(64, '\n'), 431, "request head too large", limits);
}

TEST(HttpRequestTest, AcceptEncoding) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("GZIP"));
  EXPECT_TRUE(AcceptsGzip("x-gzip"));
  EXPECT_TRUE(AcceptsGzip("deflate, gzip;q=1.0, *;q=0.5"));
  EXPECT_TRUE(AcceptsGzip("gzip;q=0.001"));
  EXPECT_TRUE(AcceptsGzip("br, *"));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("identity"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0.000"));
  EXPECT_FALSE(AcceptsGzip("*;q=0.5, gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("*;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzipped"));
  // Several Accept-Encoding fields combine.
  const ParseResult r =
      Parse("GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br\r\nAccept-Encoding: gzip\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_TRUE(r.request.accepts_gzip);
}

TEST(HttpRequestTest, BasicCredentials) {
  const ParseResult r =
      Parse("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cHJvbTpzM2NyZXQ6eA==\r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  ASSERT_TRUE(r.request.authorization.has_value());
  const auto credentials = ParseBasicCredentials(*r.request.authorization);
  ASSERT_TRUE(credentials.has_value());
  EXPECT_EQ(credentials->first, "prom");
  EXPECT_EQ(credentials->second, "s3cret:x");  // only the first colon separates
  EXPECT_EQ(ParseBasicCredentials("basic OnB3"), std::make_pair(std::string(), std::string("pw")));
  EXPECT_EQ(ParseBasicCredentials("Basic cHJvbQ"), std::nullopt);  // "prom": no colon
  EXPECT_EQ(ParseBasicCredentials("Bearer cHJvbTp4"), std::nullopt);
  EXPECT_EQ(ParseBasicCredentials("Basic cHJv*TpX"), std::nullopt);
  EXPECT_EQ(ParseBasicCredentials("Basic"), std::nullopt);
  EXPECT_EQ(ParseBasicCredentials("Basic a"), std::nullopt);
  ExpectError(
      "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic a\r\nAuthorization: Basic b\r\n\r\n", 400,
      "more than one Authorization field");
}

}  // namespace
}  // namespace nodehealth::http
