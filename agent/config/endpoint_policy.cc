#include "agent/config/endpoint_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace nodehealth {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

}  // namespace

Expected<bool> CheckEndpoint(const std::string& url, EndpointKind kind) {
  const size_t sep = url.find("://");
  if (sep == std::string::npos) return MakeError("\"" + url + "\" is not an absolute URL");
  const std::string scheme = Lower(url.substr(0, sep));
  const size_t end = url.find_first_of("/?#", sep + 3);
  const std::string authority =
      url.substr(sep + 3, end == std::string::npos ? std::string::npos : end - (sep + 3));
  if (authority.find('@') != std::string::npos) {
    return MakeError("\"" + url + "\" carries user information");
  }
  std::string host;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return MakeError("\"" + url + "\": unclosed [ in the host");
    host = authority.substr(1, close - 1);
  } else {
    host = authority.substr(0, authority.find(':'));
  }
  host = Lower(host);
  if (host.empty()) return MakeError("\"" + url + "\" names no host");
  if (scheme == "https") return true;
  if (scheme != "http") return MakeError("\"" + url + "\": only https and http are accepted");
  if (IsLoopback(host)) return true;
  if (kind == EndpointKind::kMetadata &&
      (host == "169.254.169.254" || host == "metadata.google.internal")) {
    return true;
  }
  return MakeError("\"" + url +
                   "\": plain http is accepted only for loopback addresses (tests); use https");
}

}  // namespace nodehealth
