// Reporting faults to the node's cloud: the identity, the token, the report, back-off, and the
// report's status afterwards, over a ledger (provider_ledger.h) that makes each fault one report.
// `nodehealth provider-report` and the agent's reporter thread both drive it.
//
//   Step(faults, ledger, now, hold_reason):
//     * a record for every fault with a category for this cloud (a new one is pending, due now);
//     * with `faults_complete` (the agent: these are all the node's hard faults), a pending or
//       held record whose fault is gone is cancelled;
//     * a hold reason (the blast-radius limit) holds unsent records; they go when it is lifted;
//     * each pending record that is due is sent: 200/201/202 sent; 409 sent already (the same
//       report id was accepted before); 408, 429, 5xx, a timeout or a failed connection are
//       retried after min(1 h, 30 s x 2^(attempts-1)), or Retry-After when longer; 401 and 403
//       (the identity lacks its role, which an administrator may still grant) after at least
//       5 min; any other answer fails the record for good;
//     * Google refuses a second report while one runs: one at a time, the next after DONE;
//     * each sent record whose status is not terminal is polled every poll_interval_seconds.
//   Prepare(faults): the report calls Step would send, for --dry-run (no token is fetched).
//
// A token lives in memory only, until five minutes before it expires; it is placed in the
// Authorization header and nowhere else (not in logs, errors, the ledger or the bundle).
//
// Thread safety: one session per thread. Every exchange has the configured deadline, so Step
// takes at most (2 + 2 x records due) x timeout_seconds.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/provider/azure_api.h"
#include "agent/provider/gcp_api.h"
#include "agent/provider/provider_fault.h"
#include "agent/provider/provider_ledger.h"

namespace nodehealth::provider {

struct PreparedReport {
  ProviderFault fault;
  std::string id;
  HttpCall call;  // without Authorization
};

// What one Step did, for the caller's log and counters.
struct StepOutcome {
  int sent = 0;
  int retried = 0;
  int failed = 0;
  int polled = 0;
  std::vector<std::string> events;  // one line each, no secrets: "sent gpu_lost gpu/... as ..."
};

class ProviderSession {
 public:
  explicit ProviderSession(ProviderSettings settings);

  // Reads the instance's identity once (later calls return the cached one).
  Expected<bool> Identify();
  // "vmId ..., resource ..." or "project ..., zone ..., instance ..."; empty before Identify.
  std::string DescribeIdentity() const;
  const std::string& instance_id() const { return instance_id_; }

  Expected<std::vector<PreparedReport>> Prepare(const std::vector<ProviderFault>& faults);

  StepOutcome Step(const std::vector<ProviderFault>& faults, bool faults_complete,
                   ProviderLedger& ledger, double now, const std::string& hold_reason);

  // Polls one sent record now, whatever its schedule (the command's immediate status).
  void Poll(ReportRecord& record, double now, StepOutcome& outcome);

 private:
  bool Reportable(const ProviderFault& fault) const;
  std::string Category(const ProviderFault& fault) const;
  HttpCall ReportCall(const ProviderFault& fault, const std::string& id) const;
  Expected<std::string> Token(double now);
  void Send(ReportRecord& record, const ProviderFault& fault, double now, StepOutcome& outcome);
  void RetryLater(ReportRecord& record, double now, double minimum_delay, const HttpResult* result);

  ProviderSettings settings_;
  bool identified_ = false;
  std::string instance_id_;
  AzureIdentity azure_;
  GcpIdentity gcp_;
  AccessToken token_;
};

}  // namespace nodehealth::provider
