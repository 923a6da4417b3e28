// What a cloud answers (agent/provider/cloud_answers.h): IMDS compute metadata, token responses,
// Azure's insights and Google's operations. Any bytes give a value or an Error, never a crash;
// a value holds what the reader promised (an identity has its four required fields, a token is
// not empty, an operation has a name and a status).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "agent/provider/cloud_answers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  using namespace nodehealth::provider;
  if (auto id = ParseAzureCompute(input)) {
    if (id->vm_id.empty() || id->subscription_id.empty() || id->resource_group.empty() ||
        id->name.empty() || id->resource_id.empty()) {
      std::abort();
    }
  }
  if (auto token = ParseAzureToken(input); token && token->value.empty()) std::abort();
  if (auto token = ParseGcpToken(input, 1000); token && token->value.empty()) std::abort();
  if (auto token = ParseAzureToken(input); !token) {
    // An error never quotes the body (a token response).
    if (input.find('{') != std::string::npos &&
        token.error().message.find(input) != std::string::npos) {
      std::abort();
    }
  }
  (void)ParseAzureInsights(input);
  if (auto op = ParseGcpOperation(input)) {
    if (op->name.empty() || op->status.code.empty()) std::abort();
    if (op->status.terminal != (op->status.code == "DONE")) std::abort();
  }
  return 0;
}
