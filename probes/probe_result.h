// The result model: what a probe hands back. Mirrors the "probes" objects of the JSON report in
// docs/contract.md. Plain value types: copied into snapshots, compared in tests.
//
// Three outcomes never mix (GUIDE.md): the node is bad (findings), the probe cannot tell (verdict
// error plus a probe_error/probe_timeout finding), the probe does not apply (verdict skip).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "probes/action.h"

namespace nodehealth {

// One fact behind a finding: where it was read, what was seen, and what was expected (may be empty
// when nothing specific was expected, e.g. an XID line).
struct Evidence {
  std::string source;
  std::string observed;
  std::string expected;

  bool operator==(const Evidence&) const = default;
};

struct Finding {
  std::string code;
  Severity severity = Severity::kFail;
  Action action = Action::kNone;
  std::string entity;  // "gpu/0000:19:00.0", "hca/mlx5_0/1", "node"
  std::string message;
  std::vector<Evidence> evidence;

  bool operator==(const Finding&) const = default;
};

// A number in base units (seconds, bytes, celsius, ...). `name` follows Prometheus naming without
// the nodehealth_ prefix, e.g. "gpu_temperature_celsius".
struct Measurement {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;

  bool operator==(const Measurement&) const = default;
};

enum class ProbeVerdict { kPass, kWarn, kFail, kSkip, kError };

std::string_view ToString(ProbeVerdict verdict);

struct ProbeResult {
  std::string name;
  ProbeVerdict verdict = ProbeVerdict::kPass;
  std::chrono::duration<double> duration{0};
  // Unix time the run ended. 0 in one-shot runs (the report's end stands for it); the agent sets
  // it because its snapshot mixes results of different rounds.
  double finished_at = 0;
  std::string error;               // set with verdict kError
  std::string skip_reason;         // set with verdict kSkip (a report extension, docs/contract.md)
  std::vector<std::string> notes;  // context for people: what was not checked and why
  std::vector<Finding> findings;
  std::vector<Measurement> measurements;
};

// Builds a finding with the catalogue's default severity and action for `code`. An unknown code is
// a programming error: it aborts in debug builds and yields a probe_error-like fail otherwise.
Finding MakeFinding(std::string_view code, std::string entity, std::string message,
                    std::vector<Evidence> evidence = {});

// Sets `verdict` from the findings (fail > warn > pass) unless the result already says skip or
// error. Call once a probe has added everything.
void FinalizeVerdict(ProbeResult& result);

// Marks the result as "could not decide": verdict error, `error` text, and one finding with `code`
// (probe_error or probe_timeout) on `entity`. Findings already added are kept: they were decided.
void MarkUndecided(ProbeResult& result, std::string_view code, std::string entity,
                   std::string message, std::vector<Evidence> evidence = {});

// Marks the result as not applicable on this node.
void MarkSkipped(ProbeResult& result, std::string reason);

}  // namespace nodehealth
