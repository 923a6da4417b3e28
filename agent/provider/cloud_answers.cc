#include "agent/provider/cloud_answers.h"

#include "agent/provider/cloud_json.h"

namespace nodehealth::provider {

Expected<AzureIdentity> ParseAzureCompute(std::string_view body) {
  Expected<nlohmann::json> json = ParseObject(body, "IMDS compute metadata");
  if (!json) return json.error();
  AzureIdentity id;
  const auto take = [&](std::string_view key, std::string& out, bool required) -> bool {
    std::optional<std::string> v = StringField(*json, key);
    if (v) out = *v;
    return !required || (v && !v->empty());
  };
  for (auto [key, out] :
       {std::pair{"vmId", &id.vm_id}, std::pair{"subscriptionId", &id.subscription_id},
        std::pair{"resourceGroupName", &id.resource_group}, std::pair{"name", &id.name}}) {
    if (!take(key, *out, true)) {
      return MakeError(std::string("IMDS compute metadata has no \"") + key + "\"");
    }
  }
  take("vmSize", id.vm_size, false);
  take("location", id.location, false);
  take("resourceId", id.resource_id, false);
  if (id.resource_id.empty()) {  // before IMDS 2019-03-11: built as Azure writes it
    id.resource_id = "/subscriptions/" + id.subscription_id + "/resourceGroups/" +
                     id.resource_group + "/providers/Microsoft.Compute/virtualMachines/" + id.name;
  }
  return id;
}

Expected<AccessToken> ParseAzureToken(std::string_view body) {
  // Errors never quote the body: it is, or would have been, a credential.
  Expected<nlohmann::json> json = ParseObject(body, "the managed identity's token response");
  if (!json) return json.error();
  AccessToken token;
  std::optional<std::string> value = StringField(*json, "access_token");
  if (!value || value->empty()) {
    return MakeError("the managed identity's token response has no access_token");
  }
  token.value = *value;
  std::optional<std::string> expires_on = StringField(*json, "expires_on");
  try {
    token.expires_at = expires_on ? std::stod(*expires_on) : 0;
  } catch (const std::exception&) {
    token.expires_at = 0;  // unknown: used once, then fetched again
  }
  return token;
}

Expected<CloudStatus> ParseAzureInsights(std::string_view body) {
  Expected<nlohmann::json> json = ParseObject(body, "the impact's insights");
  if (!json) return json.error();
  auto list = json->find("value");
  if (list == json->end() || !list->is_array()) {
    return MakeError("the impact's insights: no \"value\" list");
  }
  CloudStatus status;
  std::string latest_time;
  for (const nlohmann::json& insight : *list) {
    if (!insight.is_object()) continue;
    auto props = insight.find("properties");
    if (props == insight.end() || !props->is_object()) continue;
    const nlohmann::json* details = nullptr;
    if (auto d = props->find("additionalDetails"); d != props->end() && d->is_object()) {
      details = &*d;
    }
    if (details != nullptr) {
      if (auto t = details->find("terminalInsight"); t != details->end()) {
        if ((t->is_boolean() && t->get<bool>()) ||
            (t->is_string() && t->get<std::string>() == "true")) {
          status.terminal = true;
        }
      }
    }
    // The latest insight (RFC 3339 times compare as text) names the current status.
    const std::string time = StringField(*props, "eventTime").value_or("");
    if (status.code.empty() || time >= latest_time) {
      latest_time = time;
      std::optional<std::string> code =
          details != nullptr ? StringField(*details, "statusCode") : std::nullopt;
      status.code = code.value_or(StringField(*props, "status").value_or("unknown"));
      status.detail = StringField(*props, "status").value_or("");
    }
  }
  return status;
}

Expected<AccessToken> ParseGcpToken(std::string_view body, double now) {
  // Errors never quote the body: it is, or would have been, a credential.
  Expected<nlohmann::json> json = ParseObject(body, "the service account's token response");
  if (!json) return json.error();
  std::optional<std::string> value = StringField(*json, "access_token");
  if (!value || value->empty()) {
    return MakeError("the service account's token response has no access_token");
  }
  AccessToken token{*value, 0};
  if (auto e = json->find("expires_in"); e != json->end() && e->is_number()) {
    token.expires_at = now + e->get<double>();
  }
  return token;
}

Expected<GcpOperation> ParseGcpOperation(std::string_view body) {
  Expected<nlohmann::json> json = ParseObject(body, "the operation");
  if (!json) return json.error();
  GcpOperation op;
  op.name = StringField(*json, "name").value_or("");
  if (op.name.empty()) return MakeError("the operation has no name");
  op.status.code = StringField(*json, "status").value_or("");
  if (op.status.code.empty()) return MakeError("the operation has no status");
  op.status.terminal = op.status.code == "DONE";
  op.status.detail = StringField(*json, "statusMessage").value_or("");
  if (auto error = json->find("error"); error != json->end() && error->is_object()) {
    if (auto errors = error->find("errors"); errors != error->end() && errors->is_array()) {
      for (const nlohmann::json& e : *errors) {
        op.status.failed = true;
        const std::string code = StringField(e, "code").value_or("");
        const std::string message = StringField(e, "message").value_or("");
        if (op.status.detail.empty() || op.status.detail == StringField(*json, "statusMessage")) {
          op.status.detail = code;
          if (!message.empty()) op.status.detail += ": " + message;
        }
      }
    }
  }
  return op;
}

}  // namespace nodehealth::provider
