#include "agent/provider/provider_session.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "agent/provider/cloud_json.h"

namespace nodehealth::provider {
namespace {

constexpr double kMaxBackoff = 3600;
constexpr double kBaseBackoff = 30;
constexpr double kAuthBackoff = 300;  // 401/403: an administrator may still grant the role
constexpr double kTokenMargin = 300;  // fetch a new token this long before the old one expires
constexpr double kMaxRetryAfter = 3600;

void Trim(ProviderLedger& ledger) {
  while (ledger.reports.size() > kLedgerLimit) {
    // Drop the oldest record that needs nothing more: failed, cancelled, or sent and terminal.
    auto it = std::find_if(ledger.reports.begin(), ledger.reports.end(), [](const ReportRecord& r) {
      return (r.state == "failed" || r.state == "cancelled") ||
             (r.state == "sent" && r.status_terminal);
    });
    if (it == ledger.reports.end()) it = ledger.reports.begin();
    ledger.reports.erase(it);
  }
}

std::optional<double> RetryAfterSeconds(const HttpResult& result) {
  auto it = result.headers.find("retry-after");
  if (it == result.headers.end()) return std::nullopt;
  try {
    size_t used = 0;
    const double seconds = std::stod(it->second, &used);
    if (used == it->second.size() && seconds >= 0) return std::min(seconds, kMaxRetryAfter);
  } catch (const std::exception&) {
  }
  return std::nullopt;  // an HTTP date: the exponential back-off applies
}

}  // namespace

ProviderSession::ProviderSession(ProviderSettings settings) : settings_(std::move(settings)) {}

Expected<bool> ProviderSession::Identify() {
  if (identified_) return true;
  if (settings_.kind == "azure") {
    HttpResult r = HttpExchange(AzureComputeCall(settings_));
    if (!r.ok()) {
      return MakeError("IMDS compute metadata: " +
                       (r.error.empty() ? DescribeHttpFailure(r.status, r.body) : r.error));
    }
    Expected<AzureIdentity> id = ParseAzureCompute(r.body);
    if (!id) return id.error();
    azure_ = *id;
    if (!settings_.azure_physical_host_name.empty()) {
      azure_.physical_host_name = settings_.azure_physical_host_name;
    } else {
      Expected<std::string> host = ReadPhysicalHostName(settings_.azure_kvp_pool_file);
      if (!host) {
        return MakeError("PhysicalHostName, which Azure requires: " + host.error().message +
                         " (set [provider.azure] physical_host_name if this VM has no KVP pool)");
      }
      azure_.physical_host_name = *host;
    }
    instance_id_ = azure_.vm_id;
  } else if (settings_.kind == "gcp") {
    std::map<std::string, std::string> values;
    for (const char* key :
         {"project/project-id", "instance/zone", "instance/id", "instance/name"}) {
      HttpResult r = HttpExchange(GcpMetadataCall(settings_, key));
      if (!r.ok()) {
        return MakeError(std::string("metadata ") + key + ": " +
                         (r.error.empty() ? DescribeHttpFailure(r.status, r.body) : r.error));
      }
      if (r.body.empty() || r.body.size() > 256 ||
          r.body.find_first_of("\r\n\t ") != std::string::npos) {
        return MakeError(std::string("metadata ") + key + ": not a single word");
      }
      values[key] = r.body;
    }
    gcp_ = {values["project/project-id"], ZoneOfMetadata(values["instance/zone"]),
            values["instance/id"], values["instance/name"]};
    instance_id_ = gcp_.instance_id;
  } else {
    return MakeError("no cloud is configured ([provider] kind = \"azure\" or \"gcp\")");
  }
  identified_ = true;
  return true;
}

std::string ProviderSession::DescribeIdentity() const {
  if (!identified_) return "";
  if (settings_.kind == "azure") {
    return "Azure VM " + azure_.name + " (vmId " + azure_.vm_id + ", size " + azure_.vm_size +
           ", resource " + azure_.resource_id + ", physical host " + azure_.physical_host_name +
           ")";
  }
  return "Google Cloud instance " + gcp_.instance_name + " (id " + gcp_.instance_id + ", project " +
         gcp_.project + ", zone " + gcp_.zone + ")";
}

std::string ProviderSession::Category(const ProviderFault& fault) const {
  return settings_.kind == "azure" ? fault.category.azure : fault.category.gcp;
}

bool ProviderSession::Reportable(const ProviderFault& fault) const {
  return !Category(fault).empty();
}

HttpCall ProviderSession::ReportCall(const ProviderFault& fault, const std::string& id) const {
  return settings_.kind == "azure" ? AzureImpactCall(settings_, azure_, fault, id)
                                   : GcpReportCall(settings_, gcp_, fault, id);
}

Expected<std::vector<PreparedReport>> ProviderSession::Prepare(
    const std::vector<ProviderFault>& faults) {
  if (Expected<bool> ok = Identify(); !ok) return ok.error();
  std::vector<PreparedReport> out;
  for (const ProviderFault& f : faults) {
    if (!Reportable(f)) continue;
    const std::string id = ReportId(instance_id_, f);
    out.push_back({f, id, ReportCall(f, id)});
  }
  return out;
}

Expected<std::string> ProviderSession::Token(double now) {
  if (!token_.value.empty() && token_.expires_at - kTokenMargin > now) return token_.value;
  token_ = {};
  const bool azure = settings_.kind == "azure";
  HttpResult r = HttpExchange(azure ? AzureTokenCall(settings_) : GcpTokenCall(settings_));
  if (!r.ok()) {
    // The body of a refused token request says why (no identity assigned, ...); it holds no
    // credential, but quote only a little of it.
    return MakeError(std::string(azure ? "managed identity token: " : "service account token: ") +
                     (r.error.empty() ? DescribeHttpFailure(r.status, r.body) : r.error));
  }
  Expected<AccessToken> token = azure ? ParseAzureToken(r.body) : ParseGcpToken(r.body, now);
  if (!token) return token.error();
  token_ = *token;
  return token_.value;
}

void ProviderSession::RetryLater(ReportRecord& record, double now, double minimum_delay,
                                 const HttpResult* result) {
  const int exponent = std::clamp(record.attempts - 1, 0, 20);
  double delay = std::min(kMaxBackoff, kBaseBackoff * std::pow(2.0, exponent));
  delay = std::max(delay, minimum_delay);
  if (result != nullptr) {
    if (std::optional<double> after = RetryAfterSeconds(*result)) delay = std::max(delay, *after);
  }
  record.state = "pending";
  record.next_attempt_at = now + delay;
}

void ProviderSession::Send(ReportRecord& record, const ProviderFault& fault, double now,
                           StepOutcome& outcome) {
  ++record.attempts;
  record.last_attempt_at = now;
  if (Expected<std::string> token = Token(now); !token) {
    record.last_error = token.error().message;
    record.last_http_status = 0;
    RetryLater(record, now, 0, nullptr);
    ++outcome.retried;
    outcome.events.push_back("cannot report " + record.code + " " + record.entity + ": " +
                             record.last_error);
    return;
  } else {
    HttpCall call = ReportCall(fault, record.id);
    call.headers.emplace_back("Authorization", "Bearer " + *token);
    HttpResult r = HttpExchange(call);
    record.last_http_status = r.status;
    const std::string what = record.code + " " + record.entity + " (" + record.category + ")";
    if (r.status == 200 || r.status == 201 || r.status == 202 || r.status == 409) {
      record.state = "sent";
      record.sent_at = now;
      record.last_error = r.status == 409 ? "the cloud already had this report (409)" : "";
      record.next_poll_at = now + settings_.poll_interval_seconds;
      if (settings_.kind == "gcp" && r.status != 409) {
        if (Expected<GcpOperation> op = ParseGcpOperation(r.body)) {
          record.operation = op->name;
          record.status_code = op->status.code;
          record.status_terminal = op->status.terminal;
          record.status_failed = op->status.failed;
          record.status_detail = op->status.detail;
          record.status_at = now;
        } else {
          record.last_error = "accepted, but " + op.error().message;
        }
      }
      ++outcome.sent;
      outcome.events.push_back("reported " + what + " as " + record.id + " (HTTP " +
                               std::to_string(r.status) + ")");
      return;
    }
    record.last_error = r.error.empty() ? DescribeHttpFailure(r.status, r.body) : r.error;
    const bool transient = r.status == 0 || r.status == 408 || r.status == 429 || r.status >= 500;
    if (transient || r.status == 401 || r.status == 403) {
      RetryLater(record, now, transient ? 0 : kAuthBackoff, &r);
      ++outcome.retried;
      outcome.events.push_back("report of " + what + " not accepted yet: " + record.last_error);
      return;
    }
    record.state = "failed";
    ++outcome.failed;
    outcome.events.push_back("report of " + what + " refused: " + record.last_error);
  }
}

void ProviderSession::Poll(ReportRecord& record, double now, StepOutcome& outcome) {
  record.next_poll_at = now + settings_.poll_interval_seconds;
  if (settings_.kind == "gcp" && record.operation.empty()) return;  // nothing to follow
  Expected<std::string> token = Token(now);
  if (!token) {
    record.last_error = token.error().message;
    return;
  }
  HttpCall call = settings_.kind == "azure" ? AzureInsightsCall(settings_, azure_, record.id)
                                            : GcpOperationCall(settings_, gcp_, record.operation);
  call.headers.emplace_back("Authorization", "Bearer " + *token);
  HttpResult r = HttpExchange(call);
  ++outcome.polled;
  if (!r.ok()) {
    record.last_error =
        "status: " + (r.error.empty() ? DescribeHttpFailure(r.status, r.body) : r.error);
    return;
  }
  CloudStatus status;
  if (settings_.kind == "azure") {
    Expected<CloudStatus> parsed = ParseAzureInsights(r.body);
    if (!parsed) {
      record.last_error = "status: " + parsed.error().message;
      return;
    }
    status = *parsed;
  } else {
    Expected<GcpOperation> op = ParseGcpOperation(r.body);
    if (!op) {
      record.last_error = "status: " + op.error().message;
      return;
    }
    status = op->status;
  }
  record.last_error.clear();
  if (status.code.empty()) return;  // no insight yet
  if (status.code != record.status_code || status.terminal != record.status_terminal) {
    outcome.events.push_back("report " + record.id + " (" + record.code + " " + record.entity +
                             "): " + status.code + (status.terminal ? " (final)" : ""));
  }
  record.status_code = status.code;
  record.status_terminal = status.terminal;
  record.status_failed = status.failed;
  record.status_detail = status.detail;
  record.status_at = now;
}

StepOutcome ProviderSession::Step(const std::vector<ProviderFault>& faults, bool faults_complete,
                                  ProviderLedger& ledger, double now,
                                  const std::string& hold_reason) {
  StepOutcome outcome;
  Expected<bool> identified = Identify();
  if (!identified) {
    // Without the instance's identity no report id can be made: nothing is recorded or sent;
    // the next step tries again.
    outcome.events.push_back("cannot identify this instance: " + identified.error().message);
    return outcome;
  }
  std::map<std::string, const ProviderFault*> present;
  for (const ProviderFault& f : faults) {
    if (!Reportable(f)) continue;
    const std::string id = ReportId(instance_id_, f);
    present[id] = &f;
    auto it = std::find_if(ledger.reports.begin(), ledger.reports.end(),
                           [&](const ReportRecord& r) { return r.id == id; });
    if (it != ledger.reports.end()) continue;
    ReportRecord r;
    r.id = id;
    r.provider = settings_.kind;
    r.probe = f.probe;
    r.code = f.code;
    r.entity = f.entity;
    r.category = Category(f);
    r.xid = f.xid;
    r.since = f.since;
    r.next_attempt_at = now;
    ledger.reports.push_back(std::move(r));
  }

  // Status first: a Google operation that has ended lets the next report go in this same step.
  for (ReportRecord& r : ledger.reports) {
    if (r.provider == settings_.kind && r.state == "sent" && !r.status_terminal &&
        r.next_poll_at <= now) {
      Poll(r, now, outcome);
    }
  }
  bool gcp_busy = false;
  for (const ReportRecord& r : ledger.reports) {
    if (r.provider == "gcp" && r.state == "sent" && !r.status_terminal && !r.operation.empty()) {
      gcp_busy = true;
    }
  }
  for (ReportRecord& r : ledger.reports) {
    if (r.provider != settings_.kind) continue;
    if (r.state != "pending" && r.state != "held") continue;
    auto fault = present.find(r.id);
    if (fault == present.end()) {
      if (faults_complete) {
        r.state = "cancelled";
        r.hold_reason.clear();
        outcome.events.push_back("report of " + r.code + " " + r.entity +
                                 " cancelled: the fault is gone");
      }
      continue;
    }
    if (!hold_reason.empty()) {
      if (r.state != "held" || r.hold_reason != hold_reason) {
        outcome.events.push_back("report of " + r.code + " " + r.entity + " held: " + hold_reason);
      }
      r.state = "held";
      r.hold_reason = hold_reason;
      continue;
    }
    if (r.state == "held") {
      r.state = "pending";
      r.hold_reason.clear();
      r.next_attempt_at = now;
    }
    if (r.next_attempt_at > now) continue;
    if (settings_.kind == "gcp" && gcp_busy) continue;
    Send(r, *fault->second, now, outcome);
    if (settings_.kind == "gcp" && r.state == "sent" && !r.status_terminal) gcp_busy = true;
  }
  Trim(ledger);
  return outcome;
}

}  // namespace nodehealth::provider
