// The agent's HTTP request parser (agent/http/http_request.h): any bytes give a request, a wait for
// more, or an error with the status to answer, never a crash. Invariants as well: a complete head
// lies inside the input, every prefix of it is incomplete (bytes arriving one by one are never
// refused early), bytes after it do not change it, and the bounds hold.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent/http/http_request.h"

using nodehealth::http::ParseRequest;
using nodehealth::http::ParseResult;
using nodehealth::http::ParseStatus;
using nodehealth::http::RequestLimits;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  RequestLimits limits;
  limits.max_head_bytes = 2048;  // small, so the fuzzer reaches the bound
  limits.max_fields = 8;
  const ParseResult r = ParseRequest(input, limits);
  switch (r.status) {
    case ParseStatus::kIncomplete:
      if (size >= limits.max_head_bytes) std::abort();  // must have been refused
      break;
    case ParseStatus::kError:
      if (r.error_status != 400 && r.error_status != 431 && r.error_status != 505) std::abort();
      if (r.error.empty()) std::abort();
      break;
    case ParseStatus::kComplete: {
      const auto& q = r.request;
      if (r.consumed == 0 || r.consumed > size || r.consumed > limits.max_head_bytes) std::abort();
      if (q.method.empty() || q.path.empty() || q.fields.size() > limits.max_fields) std::abort();
      if (q.minor_version != 0 && q.minor_version != 1) std::abort();
      if (q.path != "*" && q.path.front() != '/') std::abort();
      // Every strict prefix of the head is incomplete.
      for (std::size_t cut : {std::size_t{0}, r.consumed / 2, r.consumed - 1}) {
        if (ParseRequest(input.substr(0, cut), limits).status != ParseStatus::kIncomplete) {
          std::abort();
        }
      }
      // What follows the head does not change it.
      const ParseResult head_only = ParseRequest(input.substr(0, r.consumed), limits);
      if (head_only.status != ParseStatus::kComplete || head_only.consumed != r.consumed ||
          head_only.request.target != q.target || head_only.request.fields != q.fields) {
        std::abort();
      }
      if (q.authorization) nodehealth::http::ParseBasicCredentials(*q.authorization);
      break;
    }
  }
  nodehealth::http::AcceptsGzip(input);
  nodehealth::http::ParseBasicCredentials(input);
  return 0;
}
