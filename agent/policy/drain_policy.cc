#include "agent/policy/drain_policy.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "probes/entity.h"
#include "probes/finding_catalog.h"

namespace nodehealth::agent {
namespace {

using Key = std::tuple<std::string, std::string, std::string>;  // probe, code, entity

// The catalogue's default (finding_catalog.h): a sticky code from its sticky_from action up.
bool IsHard(std::string_view code, Action action) {
  const CatalogEntry* entry = FindCatalogEntry(code);
  return entry != nullptr && entry->persistence == DrainPersistence::kSticky &&
         action >= entry->sticky_from;
}

// A probe that errored or was skipped has not looked again, so its silence proves nothing.
bool Decided(const ProbeSnapshot& snapshot) {
  return snapshot.result.verdict != ProbeVerdict::kError &&
         snapshot.result.verdict != ProbeVerdict::kSkip;
}

bool ReportsEvent(std::string_view code) {
  const CatalogEntry* entry = FindCatalogEntry(code);
  return entry != nullptr && entry->reports_event;
}

Treatment Treat(const DrainPolicyConfig& config, const Finding& finding) {
  return TreatFinding(config, finding.code, finding.action);
}

// Appends the new events (skipping replays of kmsg records already counted), forgets what is too
// old or over the limit. Linear in the new events plus what is dropped: an XID storm against a full
// history costs no sort and no index rebuild per event.
void MergeXidHistory(const DrainPolicyConfig& config, const PolicyInput& input,
                     PolicyState& state) {
  std::vector<XidEventRecord>& history = state.xid_history;
  bool out_of_order = false;
  // kmsg sequence numbers only grow within a boot, so a record at or below the highest one
  // counted before is a replay: the agent reads the ring buffer again from its start after a
  // restart. (Compared with the value before this batch: a batch's order is not relied on.)
  const uint64_t seen_before = state.xid_sequence_seen;
  std::unordered_set<uint64_t> in_batch;  // a batch's duplicates count once too
  for (const XidEventRecord& e : input.new_xids) {
    if (e.sequence != 0 && e.boot_id == state.boot_id) {
      if (e.sequence <= seen_before || !in_batch.insert(e.sequence).second) continue;
      state.xid_sequence_seen = std::max(state.xid_sequence_seen, e.sequence);
    }
    out_of_order |= !history.empty() && e.time < history.back().time;
    history.push_back(e);
  }
  if (out_of_order) {
    std::stable_sort(
        history.begin(), history.end(),
        [](const XidEventRecord& a, const XidEventRecord& b) { return a.time < b.time; });
  }
  const double oldest = input.now - config.history_seconds;
  auto keep = std::find_if(history.begin(), history.end(),
                           [&](const XidEventRecord& e) { return e.time >= oldest; });
  if (static_cast<std::size_t>(history.end() - keep) > config.history_limit) {
    keep = history.end() - static_cast<std::ptrdiff_t>(config.history_limit);
  }
  history.erase(history.begin(), keep);
}

std::string FormatSeconds(double seconds) {
  if (std::floor(seconds) == seconds && std::fabs(seconds) < 1e15) {
    return std::to_string(static_cast<long long>(seconds));
  }
  std::ostringstream text;
  text << seconds;
  return text.str();
}

std::string XidEntity(const XidEventRecord& e) {
  return e.bus_id.empty() ? std::string(kNodeEntity) : GpuEntity(e.bus_id);
}

// The XID a gpu_xid finding is about: the tally's catalogue evidence reads "XID <n>: ..."
// (probes/kernel_log/xid_tally.cc). nullopt when no evidence says so: then any later XID on the
// entity counts, which can only drain sooner.
std::optional<int> FindingXid(const Finding& finding) {
  for (const Evidence& e : finding.evidence) {
    const std::string_view text = e.observed;
    if (!text.starts_with("XID ")) continue;
    int xid = 0;
    std::size_t i = 4;
    for (; i < text.size() && i < 12 && text[i] >= '0' && text[i] <= '9'; ++i) {
      xid = xid * 10 + (text[i] - '0');
    }
    if (i > 4 && i < text.size() && text[i] == ':') return xid;
  }
  return std::nullopt;
}

// A repair acknowledged the entity's XID events up to its watermark: an event finding (the
// kernel log still holds the old line, so the tally still reports it) stands only while
// xid_history has a newer event of that entity and XID.
bool AcknowledgedByRepair(const PolicyState& state, const Finding& finding) {
  if (!ReportsEvent(finding.code)) return false;
  const auto watermark = state.xid_repaired_at.find(finding.entity);
  if (watermark == state.xid_repaired_at.end()) return false;
  const std::optional<int> xid = FindingXid(finding);
  return std::none_of(state.xid_history.begin(), state.xid_history.end(),
                      [&](const XidEventRecord& e) {
                        return e.time > watermark->second && (!xid || e.xid == *xid) &&
                               XidEntity(e) == finding.entity;
                      });
}

// The history without the events a repair acknowledged: what XID windows count.
std::vector<XidEventRecord> UnacknowledgedXids(const PolicyState& state) {
  if (state.xid_repaired_at.empty()) return state.xid_history;
  std::vector<XidEventRecord> events;
  events.reserve(state.xid_history.size());
  for (const XidEventRecord& e : state.xid_history) {
    const auto watermark = state.xid_repaired_at.find(XidEntity(e));
    if (watermark == state.xid_repaired_at.end() || e.time > watermark->second) {
      events.push_back(e);
    }
  }
  return events;
}

std::set<std::pair<std::string, std::string>> ReasonKeys(const DrainDecision& decision) {
  std::set<std::pair<std::string, std::string>> keys;
  for (const DrainReason& r : decision.reasons) keys.emplace(r.code, r.entity);
  return keys;
}

}  // namespace

std::vector<DrainReason> XidWindowReasons(const DrainPolicyConfig& config,
                                          const std::vector<XidEventRecord>& events, double now) {
  std::vector<DrainReason> reasons;
  for (const auto& [xid, rule] : config.xid_windows) {
    if (!ImpliesDrain(rule.action)) continue;
    const double start = now - rule.window_seconds;
    std::map<std::string, int> per_gpu;
    for (const XidEventRecord& e : events) {
      if (e.xid == xid && e.time >= start) ++per_gpu[e.bus_id];
    }
    for (const auto& [bus_id, count] : per_gpu) {
      if (count < rule.count) continue;
      const std::string where = bus_id.empty() ? "on an unnamed GPU" : "on GPU " + bus_id;
      reasons.push_back(DrainReason{std::string(codes::kGpuXid),
                                    bus_id.empty() ? std::string(kNodeEntity) : GpuEntity(bus_id),
                                    "XID " + std::to_string(xid) + " " + where + " " +
                                        std::to_string(count) + " times in the last " +
                                        FormatSeconds(rule.window_seconds) + " s (drain at " +
                                        std::to_string(rule.count) + ")",
                                    rule.action});
    }
  }
  return reasons;
}

uint64_t HighestRunId(const PolicyState& state) {
  uint64_t highest = state.last_run_id;
  for (const StickyFault& f : state.sticky) highest = std::max(highest, f.last_run);
  for (const PendingFault& p : state.pending) highest = std::max(highest, p.last_run);
  return highest;
}

Treatment TreatFinding(const DrainPolicyConfig& config, std::string_view code, Action action) {
  const auto rule = config.codes.find(std::string(code));
  const CodeRule* code_rule = rule == config.codes.end() ? nullptr : &rule->second;
  Treatment t;
  t.action = code_rule && code_rule->action ? *code_rule->action : action;
  if (code_rule && code_rule->rounds) {
    t.rounds = *code_rule->rounds;
  } else if (IsNoisyByDefault(code)) {
    t.rounds = config.noisy_rounds;
  }
  t.rounds = std::max(t.rounds, 1);
  t.sticky = code_rule && code_rule->sticky ? *code_rule->sticky : IsHard(code, t.action);
  return t;
}

bool IsHardByDefault(const Finding& finding) { return IsHard(finding.code, finding.action); }

bool IsNoisyByDefault(std::string_view code) {
  const CatalogEntry* entry = FindCatalogEntry(code);
  return entry != nullptr && entry->persistence == DrainPersistence::kNoisy;
}

PolicyOutput EvaluateDrainPolicy(const DrainPolicyConfig& config, const PolicyInput& input,
                                 const PolicyState& previous) {
  PolicyOutput out;
  PolicyState& state = out.state;
  state = previous;

  // A new boot id means the node rebooted: the GPUs were reset and the faults they held are gone
  // or will be reported again. The XID history stays so a storm across reboots still counts. An
  // unknown boot id (empty) cannot prove a reboot.
  if (!input.boot_id.empty() && input.boot_id != state.boot_id) {
    state.sticky.clear();
    state.pending.clear();
    state.boot_id = input.boot_id;
    state.xid_sequence_seen = 0;
  }
  MergeXidHistory(config, input, state);
  state.last_run_id = HighestRunId(previous);
  for (const ProbeSnapshot& s : input.probes)
    state.last_run_id = std::max(state.last_run_id, s.run);

  std::map<std::string, const ProbeSnapshot*> snapshots;
  for (const ProbeSnapshot& s : input.probes) snapshots[s.result.name] = &s;

  std::map<Key, PendingFault> pending;
  for (PendingFault& p : state.pending) pending[Key{p.probe, p.code, p.entity}] = std::move(p);
  std::map<Key, StickyFault> sticky;
  for (StickyFault& f : state.sticky) sticky[Key{f.probe, f.code, f.entity}] = std::move(f);

  std::vector<DrainReason> reasons;
  // Findings that drain, per probe, to tell which pending and sticky entries their probe no
  // longer reports.
  std::set<Key> present;
  for (const auto& [name, snapshot] : snapshots) {
    for (const Finding& finding : snapshot->result.findings) {
      if (AcknowledgedByRepair(state, finding)) continue;
      const Treatment t = Treat(config, finding);
      if (!ImpliesDrain(t.action)) continue;
      const Key key{name, finding.code, finding.entity};
      present.insert(key);

      bool due = t.rounds <= 1;
      if (!due) {
        auto [it, inserted] = pending.try_emplace(
            key, PendingFault{name, finding.code, finding.entity, 1, t.rounds, snapshot->run});
        PendingFault& p = it->second;
        // Evaluations also happen between probe rounds (a kernel-log event arrives); only a newer
        // run of the probe is another failing run.
        if (!inserted && snapshot->run > p.last_run) {
          ++p.failing_runs;
          p.last_run = snapshot->run;
        }
        p.needed_runs = t.rounds;
        due = p.failing_runs >= t.rounds;
      }
      if (!due) continue;

      const auto held = sticky.find(key);
      if (t.sticky || held != sticky.end()) {
        StickyFault& f = sticky[key];
        if (held == sticky.end()) {
          f = StickyFault{name, finding.code, finding.entity, "", t.action, input.now, 0};
        }
        f.message = finding.message;
        f.action = t.action;
        f.last_run = snapshot->run;
      } else {
        reasons.push_back(DrainReason{finding.code, finding.entity, finding.message, t.action});
      }
    }
  }

  // Release only on evidence: the probe ran again, decided, and did not report the fault. An
  // event from a log is no condition a later run can see gone: only a reboot releases it.
  const auto released_by_probe = [&](const Key& key, uint64_t last_run) {
    if (present.contains(key) || ReportsEvent(std::get<1>(key))) return false;
    const auto s = snapshots.find(std::get<0>(key));
    return s != snapshots.end() && s->second->run > last_run && Decided(*s->second);
  };
  state.pending.clear();
  for (auto& [key, p] : pending) {
    if (!released_by_probe(key, p.last_run)) state.pending.push_back(std::move(p));
  }
  state.sticky.clear();
  for (auto& [key, f] : sticky) {
    if (released_by_probe(key, f.last_run)) continue;
    reasons.push_back(DrainReason{f.code, f.entity, f.message, f.action});
    state.sticky.push_back(std::move(f));
  }

  for (DrainReason& r : XidWindowReasons(config, UnacknowledgedXids(state), input.now)) {
    reasons.push_back(std::move(r));
  }

  std::sort(reasons.begin(), reasons.end(), [](const DrainReason& a, const DrainReason& b) {
    return std::tie(b.action, a.code, a.entity, a.message) <
           std::tie(a.action, b.code, b.entity, b.message);
  });
  // Two probes (or a probe and an XID window) may say the same thing; one line per statement.
  // Sorted by action first, so the kept copy is the one with the highest action.
  std::set<std::tuple<std::string, std::string, std::string>> said;
  DrainDecision& decision = out.decision;
  for (DrainReason& r : reasons) {
    if (!said.emplace(r.code, r.entity, r.message).second) continue;
    decision.action = std::max(decision.action, r.action);
    decision.reasons.push_back(std::move(r));
  }
  decision.recommended = !decision.reasons.empty();

  // Messages carry counts that move every round; only a change of what is wrong, and where, is a
  // new decision.
  out.changed = decision.recommended != previous.decision.recommended ||
                decision.action != previous.decision.action ||
                ReasonKeys(decision) != ReasonKeys(previous.decision);
  out.decided_at = out.changed || previous.decided_at == 0 ? input.now : previous.decided_at;
  state.decision = decision;
  state.decided_at = out.decided_at;
  return out;
}

}  // namespace nodehealth::agent
