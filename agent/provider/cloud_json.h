// Reading what a cloud answers: JSON bounded in size (by the HTTP client) and depth (before
// nlohmann sees it), fields read with their types checked. Shared by azure_api and gcp_api.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "probes/util/expected.h"

namespace nodehealth::provider {

// An object, or an Error "<what>: ..." (not JSON, too deep, not an object).
Expected<nlohmann::json> ParseObject(std::string_view text, std::string_view what);

// The string at `key`; numbers are given as their decimal text (Azure sends numbers as strings,
// Google as numbers). nullopt when absent, null or of another type.
std::optional<std::string> StringField(const nlohmann::json& object, std::string_view key);

// "<status>: <the first 200 bytes of body, control characters replaced>" for error messages;
// a body never carries a token here (only token responses do, and those are not quoted).
std::string DescribeHttpFailure(long status, std::string_view body);

}  // namespace nodehealth::provider
