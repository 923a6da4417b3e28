#include "agent/policy/policy_state.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>

#include "exporters/atomic_file.h"
#include "exporters/json_report.h"
#include "probes/platform/regular_file.h"
#include "probes/util/nesting_depth.h"

namespace nodehealth::agent {
namespace {

using Json = nlohmann::ordered_json;

// A full XID history is a few MiB; anything far larger is not a state file this agent wrote.
constexpr std::size_t kMaxStateBytes = 64u << 20;

// Thrown inside ParsePolicyState only, turned into an Error there.
struct StateFormatError {
  std::string message;
};

[[noreturn]] void Bad(const std::string& where, const std::string& what) {
  throw StateFormatError{"\"" + where + "\" " + what};
}

std::string Path(const std::string& where, const char* name) {
  return where.empty() ? name : where + "." + name;
}

const Json& Field(const Json& object, const std::string& where, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) Bad(Path(where, name), "is missing");
  return *it;
}

std::string GetString(const Json& object, const std::string& where, const char* name) {
  const Json& v = Field(object, where, name);
  if (!v.is_string()) Bad(Path(where, name), "must be a string");
  return v.get<std::string>();
}

double GetNumber(const Json& object, const std::string& where, const char* name) {
  const Json& v = Field(object, where, name);
  if (!v.is_number()) Bad(Path(where, name), "must be a number");
  return v.get<double>();
}

uint64_t GetUnsigned(const Json& object, const std::string& where, const char* name) {
  const Json& v = Field(object, where, name);
  if (!v.is_number_unsigned()) Bad(Path(where, name), "must be a non-negative integer");
  return v.get<uint64_t>();
}

int GetInt(const Json& object, const std::string& where, const char* name) {
  const Json& v = Field(object, where, name);
  if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
      v.get<int64_t>() > std::numeric_limits<int>::max()) {
    Bad(Path(where, name), "must be a non-negative integer");
  }
  return static_cast<int>(v.get<int64_t>());
}

bool GetBool(const Json& object, const std::string& where, const char* name) {
  const Json& v = Field(object, where, name);
  if (!v.is_boolean()) Bad(Path(where, name), "must be true or false");
  return v.get<bool>();
}

Action GetAction(const Json& object, const std::string& where, const char* name) {
  const std::string text = GetString(object, where, name);
  const std::optional<Action> action = ParseAction(text);
  if (!action) Bad(Path(where, name), "is not an action: \"" + text + "\"");
  return *action;
}

// Calls read(item, "<where>.name[i]") for each element of the array field `name`, which must exist.
template <class Read>
void ForEach(const Json& object, const std::string& where_object, const char* name, Read read) {
  const Json& array = Field(object, where_object, name);
  if (!array.is_array()) Bad(Path(where_object, name), "must be an array");
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string where = Path(where_object, name) + "[" + std::to_string(i) + "]";
    if (!array[i].is_object()) Bad(where, "must be an object");
    read(array[i], where);
  }
}

Json ReasonJson(const DrainReason& r) {
  return Json{{"code", r.code},
              {"entity", r.entity},
              {"message", r.message},
              {"action", ToString(r.action)}};
}

DrainReason ReadReason(const Json& j, const std::string& where) {
  return DrainReason{GetString(j, where, "code"), GetString(j, where, "entity"),
                     GetString(j, where, "message"), GetAction(j, where, "action")};
}

// Schema /3: the XID watermarks and the repairs applied (drain_policy.h PolicyState).
void ReadRepairs(const Json& root, PolicyState& state) {
  const Json& watermarks = Field(root, "", "xid_repaired_at");
  if (!watermarks.is_object()) Bad("xid_repaired_at", "must be an object");
  for (const auto& [entity, at] : watermarks.items()) {
    if (!at.is_number()) Bad("xid_repaired_at." + entity, "must be a number");
    state.xid_repaired_at[entity] = at.get<double>();
  }
  ForEach(root, "", "repairs", [&](const Json& j, const std::string& where) {
    const uint64_t uid = GetUnsigned(j, where, "uid");
    if (uid > std::numeric_limits<uint32_t>::max()) Bad(where + ".uid", "is not a uid");
    state.repairs.push_back(AppliedRepair{GetString(j, where, "probe"), GetString(j, where, "code"),
                                          GetString(j, where, "entity"), GetString(j, where, "by"),
                                          static_cast<uint32_t>(uid), GetNumber(j, where, "at")});
  });
}

PolicyState ReadState(const Json& root) {
  if (!root.is_object()) throw StateFormatError{"not a JSON object"};
  const auto schema = root.find("schema");
  int version = 0;
  if (schema != root.end() && schema->is_string()) {
    if (*schema == kPolicyStateSchema) version = 3;
    if (*schema == kPolicyStateSchemaV2) version = 2;
    if (*schema == kPolicyStateSchemaV1) version = 1;
  }
  if (version == 0) {
    throw StateFormatError{"\"schema\" is " + (schema == root.end() ? "missing" : schema->dump()) +
                           ", expected \"" + std::string(kPolicyStateSchema) + "\""};
  }
  PolicyState state;
  state.boot_id = GetString(root, "", "boot_id");
  state.decided_at = GetNumber(root, "", "decided_at");
  // Absent in files written before run ids were persisted: HighestRunId falls back on the faults'.
  if (root.contains("last_run_id")) state.last_run_id = GetUnsigned(root, "", "last_run_id");
  const Json& decision = Field(root, "", "decision");
  if (!decision.is_object()) Bad("decision", "must be an object");
  state.decision.recommended = GetBool(decision, "decision", "recommended");
  state.decision.action = GetAction(decision, "decision", "action");
  ForEach(decision, "decision", "reasons", [&](const Json& j, const std::string& where) {
    state.decision.reasons.push_back(ReadReason(j, where));
  });
  ForEach(root, "", "sticky", [&](const Json& j, const std::string& where) {
    state.sticky.push_back(StickyFault{
        GetString(j, where, "probe"), GetString(j, where, "code"), GetString(j, where, "entity"),
        GetString(j, where, "message"), GetAction(j, where, "action"), GetNumber(j, where, "since"),
        GetUnsigned(j, where, "last_run")});
  });
  ForEach(root, "", "pending", [&](const Json& j, const std::string& where) {
    state.pending.push_back(
        PendingFault{GetString(j, where, "probe"), GetString(j, where, "code"),
                     GetString(j, where, "entity"), GetInt(j, where, "failing_runs"),
                     GetInt(j, where, "needed_runs"), GetUnsigned(j, where, "last_run")});
  });
  if (version == 1) {
    ForEach(root, "", "xid_history", [&](const Json& j, const std::string& where) {
      state.xid_history.push_back(XidEventRecord{
          GetString(j, where, "boot_id"), GetUnsigned(j, where, "sequence"),
          GetNumber(j, where, "time"), GetString(j, where, "bus_id"), GetInt(j, where, "xid")});
    });
    for (const XidEventRecord& e : state.xid_history) {
      if (e.boot_id == state.boot_id) {
        state.xid_sequence_seen = std::max(state.xid_sequence_seen, e.sequence);
      }
    }
    return state;
  }
  if (version >= 3) ReadRepairs(root, state);
  state.xid_sequence_seen = GetUnsigned(root, "", "xid_sequence_seen");
  ForEach(root, "", "xid_history", [&](const Json& group, const std::string& where_group) {
    const std::string boot_id = GetString(group, where_group, "boot_id");
    const Json& events = Field(group, where_group, "events");
    if (!events.is_array()) Bad(where_group + ".events", "must be an array");
    for (std::size_t i = 0; i < events.size(); ++i) {
      const std::string where = where_group + ".events[" + std::to_string(i) + "]";
      const Json& e = events[i];
      if (!e.is_array() || e.size() != 4 || !e[0].is_number_unsigned() || !e[1].is_number() ||
          !e[2].is_string() || !e[3].is_number_unsigned() ||
          e[3].get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int>::max())) {
        Bad(where, "must be [sequence, time, \"bus id\", xid]");
      }
      state.xid_history.push_back(XidEventRecord{boot_id, e[0].get<uint64_t>(), e[1].get<double>(),
                                                 e[2].get<std::string>(),
                                                 static_cast<int>(e[3].get<uint64_t>())});
    }
  });
  return state;
}

}  // namespace

std::string UnixRfc3339(double unix_seconds) {
  // Rounded, not truncated: a double of Unix seconds is a few hundred ns off its decimal value.
  const auto millis =
      std::chrono::round<std::chrono::milliseconds>(std::chrono::duration<double>(unix_seconds));
  return FormatRfc3339(std::chrono::system_clock::time_point(millis));
}

std::string SerializePolicyState(const PolicyState& state) {
  Json reasons = Json::array();
  for (const DrainReason& r : state.decision.reasons) reasons.push_back(ReasonJson(r));
  Json sticky = Json::array();
  for (const StickyFault& f : state.sticky) {
    sticky.push_back(Json{{"probe", f.probe},
                          {"code", f.code},
                          {"entity", f.entity},
                          {"message", f.message},
                          {"action", ToString(f.action)},
                          {"since", f.since},
                          {"last_run", f.last_run}});
  }
  Json pending = Json::array();
  for (const PendingFault& p : state.pending) {
    pending.push_back(Json{{"probe", p.probe},
                           {"code", p.code},
                           {"entity", p.entity},
                           {"failing_runs", p.failing_runs},
                           {"needed_runs", p.needed_runs},
                           {"last_run", p.last_run}});
  }
  // One group per run of events of the same boot (the history is in time order, so a boot's
  // events are together): a full history of 10,000 events is ~0.4 MB, not 1.3 MB.
  Json history = Json::array();
  for (const XidEventRecord& e : state.xid_history) {
    if (history.empty() || history.back()["boot_id"] != e.boot_id) {
      history.push_back(Json{{"boot_id", e.boot_id}, {"events", Json::array()}});
    }
    history.back()["events"].push_back(Json::array({e.sequence, e.time, e.bus_id, e.xid}));
  }
  Json watermarks = Json::object();
  for (const auto& [entity, at] : state.xid_repaired_at) watermarks[entity] = at;
  Json repairs = Json::array();
  for (const AppliedRepair& r : state.repairs) {
    repairs.push_back(Json{{"probe", r.probe},
                           {"code", r.code},
                           {"entity", r.entity},
                           {"by", r.by},
                           {"uid", r.uid},
                           {"at", r.at}});
  }
  const Json root{{"schema", kPolicyStateSchema},
                  {"boot_id", state.boot_id},
                  {"decided_at", state.decided_at},
                  {"last_run_id", state.last_run_id},
                  {"decision",
                   {{"recommended", state.decision.recommended},
                    {"action", ToString(state.decision.action)},
                    {"reasons", std::move(reasons)}}},
                  {"sticky", std::move(sticky)},
                  {"pending", std::move(pending)},
                  {"xid_sequence_seen", state.xid_sequence_seen},
                  {"xid_history", std::move(history)},
                  {"xid_repaired_at", std::move(watermarks)},
                  {"repairs", std::move(repairs)}};
  // One line: a file for the agent, rewritten often (`jq . state.json` for a person); status.json
  // is the one for people.
  return root.dump() + "\n";
}

Expected<PolicyState> ParsePolicyState(std::string_view text) {
  // Before parsing: a deeply nested value would overflow the stack in dump() or a copy.
  if (std::optional<DepthViolation> deep = CheckJsonDepth(text)) {
    return MakeError("line " + std::to_string(deep->line) + ": " + deep->what);
  }
  try {
    return ReadState(Json::parse(text));
  } catch (const Json::exception& error) {
    return MakeError(std::string("not valid JSON: ") + error.what());
  } catch (const StateFormatError& error) {
    return MakeError(error.message);
  }
}

Expected<PolicyState> LoadPolicyState(const std::string& path) {
  // A regular file only: a FIFO planted there would block the agent's start for ever.
  Expected<std::string> text = platform::ReadRegularFile(path, kMaxStateBytes, "agent state");
  if (!text) {
    if (text.error().sys_errno == ENOENT) return PolicyState{};
    return text.error();
  }
  Expected<PolicyState> state = ParsePolicyState(*text);
  if (!state) return MakeError(path + ": " + state.error().message);
  return state;
}

Expected<bool> SavePolicyState(const std::string& path, const PolicyState& state) {
  return WriteFileAtomically(path, SerializePolicyState(state));
}

nlohmann::ordered_json PolicyStatusJson(const PolicyState& state) {
  Json sticky = Json::array();
  for (const StickyFault& f : state.sticky) {
    sticky.push_back(Json{{"probe", f.probe},
                          {"code", f.code},
                          {"entity", f.entity},
                          {"message", f.message},
                          {"action", ToString(f.action)},
                          {"since", UnixRfc3339(f.since)}});
  }
  Json pending = Json::array();
  for (const PendingFault& p : state.pending) {
    // Past its threshold a noisy fault is a reason (or cleared), not something still counting.
    if (p.failing_runs >= p.needed_runs) continue;
    pending.push_back(Json{{"probe", p.probe},
                           {"code", p.code},
                           {"entity", p.entity},
                           {"failing_runs", p.failing_runs},
                           {"needed_runs", p.needed_runs}});
  }
  Json repairs = Json::array();
  for (const AppliedRepair& r : state.repairs) {
    repairs.push_back(Json{{"code", r.code},
                           {"entity", r.entity},
                           {"probe", r.probe},
                           {"by", r.by},
                           {"uid", r.uid},
                           {"at", UnixRfc3339(r.at)}});
  }
  return Json{
      {"decided_at", state.decided_at > 0 ? Json(UnixRfc3339(state.decided_at)) : Json(nullptr)},
      {"sticky", std::move(sticky)},
      {"pending", std::move(pending)},
      {"repairs", std::move(repairs)}};
}

}  // namespace nodehealth::agent
