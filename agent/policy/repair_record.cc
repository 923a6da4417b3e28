#include "agent/policy/repair_record.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "agent/policy/policy_state.h"
#include "probes/finding_catalog.h"
#include "probes/util/nesting_depth.h"

namespace nodehealth::agent {
namespace {

using Json = nlohmann::ordered_json;

// Far above what a node has (a few GPUs and HCAs) and far below what would cost anything.
constexpr std::size_t kMaxFaults = 256;
constexpr std::size_t kMaxProbes = 64;
constexpr std::size_t kMaxStringBytes = 256;

// Thrown inside ParseRepairRecord only, turned into an Error there.
struct RecordFormatError {
  std::string message;
};

[[noreturn]] void Bad(const std::string& where, const std::string& what) {
  throw RecordFormatError{"\"" + where + "\" " + what};
}

const Json& Field(const Json& object, const std::string& where, const char* name) {
  const auto it = object.find(name);
  const std::string path = where.empty() ? name : where + "." + name;
  if (it == object.end()) Bad(path, "is missing");
  return *it;
}

std::string GetString(const Json& object, const std::string& where, const char* name) {
  const Json& v = Field(object, where, name);
  const std::string path = where.empty() ? name : where + "." + name;
  if (!v.is_string()) Bad(path, "must be a string");
  std::string text = v.get<std::string>();
  if (text.empty() || text.size() > kMaxStringBytes) {
    Bad(path, "must have 1 to " + std::to_string(kMaxStringBytes) + " bytes");
  }
  return text;
}

double GetTime(const Json& object, const std::string& where, const char* name) {
  const std::string text = GetString(object, where, name);
  Expected<double> time = ParseRfc3339Utc(text);
  if (!time) Bad(where.empty() ? name : where + "." + name, time.error().message);
  return *time;
}

// Calls read(item, "name[i]") for each object of the array `name`: 1 to `limit` of them.
template <class Read>
void ForEach(const Json& root, const char* name, std::size_t limit, Read read) {
  const Json& array = Field(root, "", name);
  if (!array.is_array()) Bad(name, "must be an array");
  if (array.empty() || array.size() > limit) {
    Bad(name, "must hold 1 to " + std::to_string(limit) + " entries");
  }
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string where = std::string(name) + "[" + std::to_string(i) + "]";
    if (!array[i].is_object()) Bad(where, "must be an object");
    read(array[i], where);
  }
}

RepairRecord ReadRecord(const Json& root) {
  if (!root.is_object()) throw RecordFormatError{"not a JSON object"};
  const auto schema = root.find("schema");
  if (schema == root.end() || !schema->is_string() || *schema != kRepairRecordSchema) {
    throw RecordFormatError{"\"schema\" is " + (schema == root.end() ? "missing" : schema->dump()) +
                            ", expected \"" + std::string(kRepairRecordSchema) + "\""};
  }
  RepairRecord record;
  record.at = GetTime(root, "", "at");
  record.by = GetString(root, "", "by");
  const Json& uid = Field(root, "", "uid");
  if (!uid.is_number_unsigned() || uid.get<uint64_t>() > std::numeric_limits<uint32_t>::max()) {
    Bad("uid", "must be a uid (a non-negative integer)");
  }
  record.uid = static_cast<uint32_t>(uid.get<uint64_t>());
  ForEach(root, "faults", kMaxFaults, [&](const Json& j, const std::string& where) {
    record.faults.push_back(RepairedFault{GetString(j, where, "probe"), GetString(j, where, "code"),
                                          GetString(j, where, "entity"),
                                          GetTime(j, where, "since")});
  });
  ForEach(root, "probes", kMaxProbes, [&](const Json& j, const std::string& where) {
    VerifyingProbe probe{GetString(j, where, "name"), GetString(j, where, "verdict")};
    // Only a probe that decided verifies anything (repair_command.h).
    if (probe.verdict != "pass" && probe.verdict != "warn" && probe.verdict != "fail") {
      Bad(where + ".verdict", "must be pass, warn or fail");
    }
    record.probes.push_back(std::move(probe));
  });
  return record;
}

// The number in the `count` decimal digits of `text` at `at`, or -1.
int Digits(std::string_view text, std::size_t at, std::size_t count) {
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (i >= text.size() || text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

bool ReportsEvent(std::string_view code) {
  const CatalogEntry* entry = FindCatalogEntry(code);
  return entry != nullptr && entry->reports_event;
}

}  // namespace

Expected<double> ParseRfc3339Utc(std::string_view text) {
  const Error bad = MakeError("is not an RFC 3339 UTC time (\"2027-01-15T08:00:00.250Z\")");
  if (text.size() < 20 || text.size() > 30) return bad;
  const int year = Digits(text, 0, 4);
  const int month = Digits(text, 5, 2);
  const int day = Digits(text, 8, 2);
  const int hour = Digits(text, 11, 2);
  const int minute = Digits(text, 14, 2);
  const int second = Digits(text, 17, 2);
  if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 59) {
    return bad;
  }
  std::size_t i = 19;
  double fraction = 0;
  if (text[i] == '.') {
    double scale = 0.1;
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, scale /= 10) {
      fraction += (text[i] - '0') * scale;
    }
    if (i == 20) return bad;  // a point without digits
  }
  if (i + 1 != text.size() || text[i] != 'Z') return bad;
  std::tm utc{};
  utc.tm_year = year - 1900;
  utc.tm_mon = month - 1;
  utc.tm_mday = day;
  utc.tm_hour = hour;
  utc.tm_min = minute;
  utc.tm_sec = second;
  const std::time_t seconds = ::timegm(&utc);
  if (utc.tm_mday != day) return bad;  // timegm normalised 31 February into March
  return static_cast<double>(seconds) + fraction;
}

std::string SerializeRepairRecord(const RepairRecord& record) {
  Json faults = Json::array();
  for (const RepairedFault& f : record.faults) {
    faults.push_back(Json{{"probe", f.probe},
                          {"code", f.code},
                          {"entity", f.entity},
                          {"since", UnixRfc3339(f.since)}});
  }
  Json probes = Json::array();
  for (const VerifyingProbe& p : record.probes) {
    probes.push_back(Json{{"name", p.name}, {"verdict", p.verdict}});
  }
  const Json root{{"schema", kRepairRecordSchema},
                  {"at", UnixRfc3339(record.at)},
                  {"by", record.by},
                  {"uid", record.uid},
                  {"faults", std::move(faults)},
                  {"probes", std::move(probes)}};
  return root.dump(2) + "\n";
}

Expected<RepairRecord> ParseRepairRecord(std::string_view text) {
  if (text.size() > kMaxRepairRecordBytes) {
    return MakeError("larger than " + std::to_string(kMaxRepairRecordBytes) + " bytes");
  }
  // Before parsing: nothing in a record nests deeper, and a deep value costs stack later.
  if (std::optional<DepthViolation> deep = CheckJsonDepth(text, kMaxRepairRecordDepth)) {
    return MakeError("line " + std::to_string(deep->line) + ": " + deep->what);
  }
  try {
    return ReadRecord(Json::parse(text));
  } catch (const Json::exception& error) {
    return MakeError(std::string("not valid JSON: ") + error.what());
  } catch (const RecordFormatError& error) {
    return MakeError(error.message);
  }
}

std::vector<AppliedRepair> ApplyRepairs(PolicyState& state,
                                        const std::vector<RepairRecord>& records, double now) {
  std::vector<AppliedRepair> applied;
  for (const RepairRecord& record : records) {
    const double at = std::min(record.at, now);
    for (const RepairedFault& fault : record.faults) {
      const auto held = std::find_if(state.sticky.begin(), state.sticky.end(), [&](const auto& f) {
        return f.probe == fault.probe && f.code == fault.code && f.entity == fault.entity &&
               f.since <= at;
      });
      if (held != state.sticky.end()) {
        applied.push_back(
            AppliedRepair{held->probe, held->code, held->entity, record.by, record.uid, at});
        state.sticky.erase(held);
      }
      // The XID lines stay in this boot's log: without the watermark the next evaluation would
      // make the fault again from the same old event.
      if (ReportsEvent(fault.code)) {
        double& watermark = state.xid_repaired_at[fault.entity];
        watermark = std::max(watermark, at);
      }
    }
  }
  while (state.xid_repaired_at.size() > kMaxXidWatermarks) {
    state.xid_repaired_at.erase(
        std::min_element(state.xid_repaired_at.begin(), state.xid_repaired_at.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; }));
  }
  state.repairs.insert(state.repairs.end(), applied.begin(), applied.end());
  if (state.repairs.size() > kMaxAppliedRepairsShown) {
    state.repairs.erase(state.repairs.begin(),
                        state.repairs.end() - static_cast<std::ptrdiff_t>(kMaxAppliedRepairsShown));
  }
  return applied;
}

}  // namespace nodehealth::agent
