// What nodehealth has told its cloud, kept in <state_dir>/provider-reports.json (one line of JSON,
// schema "nodehealth-provider-reports/1", written atomically, mode 0600 as the state directory):
// one record per fault reported, keyed by its report id (provider_fault.h ReportId), so that a
// fault is reported once however many rounds and restarts see it, and so that /report, the
// metrics and `nodehealth provider-report --status` can show where each report stands.
//
// No token, header or response body is ever kept here.
//
// Record states:
//   pending    to be sent (next_attempt_at says when: back-off after 429, 5xx and failed calls)
//   held       not sent on purpose (hold_reason: the blast-radius limit); sent when released
//   sent       the cloud accepted it; status_* follow its insight/operation until terminal
//   failed     the cloud refused it for good (a 4xx other than 401, 403, 408, 409, 429)
//   cancelled  the fault went away (repair, reboot) before it was sent
//
// Thread safety: values and pure functions plus whole-file reads and atomic writes.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "probes/util/expected.h"

namespace nodehealth::provider {

inline constexpr std::string_view kLedgerSchema = "nodehealth-provider-reports/1";
inline constexpr const char* kLedgerFile = "provider-reports.json";
// Records kept at most (terminal ones, oldest first, make room).
inline constexpr size_t kLedgerLimit = 200;

struct ReportRecord {
  std::string id;
  std::string provider;  // "azure", "gcp"
  std::string probe;
  std::string code;
  std::string entity;
  std::string category;  // Azure's impact category or Google's behaviour
  int xid = 0;
  double since = 0;  // the fault's first sighting, Unix seconds
  std::string state = "pending";
  std::string hold_reason;
  int attempts = 0;
  double next_attempt_at = 0;
  double last_attempt_at = 0;
  double sent_at = 0;
  long last_http_status = 0;
  std::string last_error;
  std::string operation;    // Google: the operation to poll
  std::string status_code;  // the cloud's latest word (insight statusCode / operation status)
  std::string status_detail;
  bool status_terminal = false;
  bool status_failed = false;
  double status_at = 0;
  double next_poll_at = 0;

  bool operator==(const ReportRecord&) const = default;
};

struct ProviderLedger {
  std::vector<ReportRecord> reports;
  bool operator==(const ProviderLedger&) const = default;
};

std::string SerializeLedger(const ProviderLedger& ledger);
Expected<ProviderLedger> ParseLedger(std::string_view text);
// A missing file is an empty ledger.
Expected<ProviderLedger> LoadLedger(const std::string& path);
Expected<bool> SaveLedger(const std::string& path, const ProviderLedger& ledger);

// An exclusive lock on <state_dir>/provider-reports.lock (flock), held while a ledger is read,
// stepped and written, so that the agent and `nodehealth provider-report` never send the same
// report twice or lose each other's records. Released on destruction.
class LedgerLock {
 public:
  // Waits up to `timeout_seconds` for the lock; an Error says why it was not taken.
  static Expected<std::shared_ptr<LedgerLock>> Acquire(const std::string& state_dir,
                                                       double timeout_seconds);
  ~LedgerLock();
  LedgerLock(const LedgerLock&) = delete;
  LedgerLock& operator=(const LedgerLock&) = delete;

 private:
  explicit LedgerLock(int fd) : fd_(fd) {}
  int fd_;
};

// {"kind", "reports": [{id, code, entity, category, state, attempts, sent_at, status, ...}]} for
// /report and the status command; times RFC 3339.
nlohmann::ordered_json LedgerStatusJson(std::string_view kind, const ProviderLedger& ledger);

}  // namespace nodehealth::provider
