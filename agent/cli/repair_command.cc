#include "agent/cli/repair_command.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <set>
#include <tuple>
#include <vector>

#include "agent/config/state_dir.h"
#include "agent/engine/run_plan.h"
#include "agent/policy/policy_state.h"
#include "agent/policy/repair_inbox.h"
#include "agent/policy/repair_record.h"
#include "agent/policy/report_support.h"
#include "exporters/atomic_file.h"
#include "probes/all_probes.h"
#include "probes/finding_catalog.h"
#include "probes/platform/file_system.h"
#include "probes/platform/trusted_file.h"

namespace nodehealth {
namespace {

using agent::StickyFault;

// The agent's state holds at most a few MiB (policy_state.cc allows 64).
constexpr std::size_t kMaxStateBytes = 64u << 20;

constexpr std::string_view kGpuEntityPrefix = "gpu/";

// What verifies one sticky fault, and how it came out.
struct FaultCheck {
  StickyFault fault;
  bool event = false;           // an event code (gpu_xid): released by nothing the probe sees
  bool needs_presence = false;  // gpu_lost / gpu_xid on a GPU: the GPU must answer
  std::vector<std::string> probes;
  std::string result;  // "gpu_presence pass, gpu_health warn"
  bool cleared = false;
  std::string why;
};

bool ReportsEvent(std::string_view code) {
  const CatalogEntry* entry = FindCatalogEntry(code);
  return entry != nullptr && entry->reports_event;
}

// The probes that can tell whether a GPU answers now: those that report a GPU lost (a capability
// of the probe, not a list of names here).
std::vector<std::string> GpuAnswerProbes() {
  std::vector<std::string> names;
  for (const auto& probe : AllProbes()) {
    const auto& codes = probe->info().codes;
    if (std::find(codes.begin(), codes.end(), codes::kGpuLost) != codes.end()) {
      names.emplace_back(probe->info().name);
    }
  }
  return names;
}

FaultCheck PlanCheck(const StickyFault& fault) {
  FaultCheck check;
  check.fault = fault;
  check.event = ReportsEvent(fault.code);
  const bool on_gpu = fault.entity.starts_with(kGpuEntityPrefix);
  check.needs_presence = on_gpu && (check.event || fault.code == codes::kGpuLost);
  // An event stays in the log it came from: its own probe would report it for ever.
  if (!check.event && FindProbe(fault.probe) != nullptr) check.probes.push_back(fault.probe);
  if (check.event || check.needs_presence) {
    for (const std::string& name : GpuAnswerProbes()) {
      if (std::find(check.probes.begin(), check.probes.end(), name) == check.probes.end()) {
        check.probes.push_back(name);
      }
    }
  }
  return check;
}

bool Decided(const ProbeResult& result) {
  return result.verdict == ProbeVerdict::kPass || result.verdict == ProbeVerdict::kWarn ||
         result.verdict == ProbeVerdict::kFail;
}

// Judges `check` from the run's results: fills result, cleared and why.
void Judge(const Report& report, FaultCheck& check) {
  const StickyFault& f = check.fault;
  if (check.probes.empty()) {
    check.result = "-";
    check.why = "no probe named " + f.probe + " to verify it";
    return;
  }
  std::vector<const ProbeResult*> results;
  for (const std::string& name : check.probes) {
    const auto it = std::find_if(report.probes.begin(), report.probes.end(),
                                 [&](const ProbeResult& r) { return r.name == name; });
    check.result += (check.result.empty() ? "" : ", ") + name + " " +
                    (it == report.probes.end() ? "not run" : std::string(ToString(it->verdict)));
    if (it == report.probes.end() || !Decided(*it)) {
      if (check.why.empty()) {
        check.why = name + " did not decide" +
                    (it == report.probes.end() ? std::string(" (not run)")
                     : it->error.empty()       ? ""
                                               : ": " + it->error);
      }
      continue;
    }
    results.push_back(&*it);
  }
  if (!check.why.empty()) return;
  const std::string bus_id =
      check.needs_presence ? f.entity.substr(kGpuEntityPrefix.size()) : std::string();
  bool measured = false;
  for (const ProbeResult* r : results) {
    for (const Finding& finding : r->findings) {
      if (finding.entity != f.entity) continue;
      // A condition: its own code is what matters. An event: the GPU must be fit now.
      const bool blocks = check.event ? ImpliesDrain(finding.action) : finding.code == f.code;
      const bool absent = check.needs_presence &&
                          (finding.code == codes::kGpuLost || finding.code == codes::kGpuMissing);
      if (blocks || absent) {
        check.why = r->name + " reports " + finding.code + " on " + f.entity;
        return;
      }
    }
    for (const Measurement& m : r->measurements) {
      const auto gpu = m.labels.find("gpu");
      measured |= gpu != m.labels.end() && gpu->second == bus_id;
    }
  }
  if (check.needs_presence && !measured) {
    check.why = "GPU " + bus_id + " did not answer (no probe measured it)";
    return;
  }
  check.cleared = true;
  check.why = check.event ? "the GPU answers and nothing on " + f.entity + " drains"
                          : "no " + f.code + " on " + f.entity +
                                (check.needs_presence ? "; the GPU answers" : "");
}

// The operator: SUDO_USER (and SUDO_UID) under sudo, else the real uid's login name. Printable
// characters only: the agent writes it into its log.
std::pair<std::string, uint32_t> Operator() {
  const uid_t uid = ::getuid();
  std::string name;
  uint32_t id = uid;
  if (const char* sudo = std::getenv("SUDO_USER"); uid == 0 && sudo != nullptr && *sudo) {
    name = sudo;
    if (const char* sudo_uid = std::getenv("SUDO_UID"); sudo_uid != nullptr) {
      char* end = nullptr;
      errno = 0;
      const unsigned long parsed = std::strtoul(sudo_uid, &end, 10);
      if (errno == 0 && end != sudo_uid && *end == '\0' && parsed <= UINT32_MAX) {
        id = static_cast<uint32_t>(parsed);
      }
    }
  } else {
    struct passwd entry {};
    struct passwd* found = nullptr;
    std::vector<char> buffer(16384);
    if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
      name = found->pw_name;
    }
  }
  if (name.empty()) name = "uid " + std::to_string(uid);
  if (name.size() > 64) name.resize(64);
  for (char& c : name) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return {name, id};
}

std::string Describe(const StickyFault& f) { return f.code + " " + f.entity; }

void PrintTable(const std::vector<FaultCheck>& checks, std::ostream& out) {
  std::vector<std::vector<std::string>> rows = {
      {"FAULT", "VERIFYING PROBES", "RESULT", "CLEARED", "WHY"}};
  for (const FaultCheck& c : checks) {
    std::string probes;
    for (const std::string& p : c.probes) probes += (probes.empty() ? "" : ",") + p;
    rows.push_back({Describe(c.fault), probes.empty() ? "-" : probes, c.result,
                    c.cleared ? "yes" : "no", c.why});
  }
  std::vector<std::size_t> width(5, 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

bool Matches(const std::optional<std::string>& filter, const std::string& value) {
  return !filter || *filter == value;
}

// Milliseconds: the record's times have that precision, and `at` must not move later.
double NowFlooredToMillis() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()) /
         1000.0;
}

}  // namespace

CheckResult RunRepair(const RepairOptions& options, std::ostream& out, std::ostream& err) {
  CheckResult outcome;
  const auto fail = [&](const std::string& message) {
    err << "nodehealth repair: " << message << "\n";
    outcome.exit_code = 2;
    return outcome;
  };
  Expected<Config> config = LoadRunConfig(options.check);
  if (!config) return fail(config.error().message);
  Expected<std::string> state_dir =
      agent::ResolveStateDir(options.state_dir, *config, options.check.sysroot);
  if (!state_dir) return fail(state_dir.error().message);

  // The record clears drain reasons of a root daemon: only root writes it, or, for a state
  // directory of one's own (an agent run unprivileged, tests), its owner.
  if (!options.dry_run && ::geteuid() != 0) {
    struct stat st {};
    if (::stat(state_dir->c_str(), &st) != 0 || st.st_uid != ::geteuid()) {
      return fail("must run as root (the state directory " + *state_dir +
                  " is not the effective user's); --dry-run only verifies");
    }
  }

  const std::string state_path = *state_dir + "/state.json";
  Expected<std::string> text = platform::ReadTrustedFile(state_path, kMaxStateBytes);
  if (!text) return fail("cannot read the agent's state: " + text.error().message);
  Expected<agent::PolicyState> state = agent::ParsePolicyState(*text);
  if (!state) return fail(state_path + ": " + state.error().message);

  std::vector<FaultCheck> checks;
  for (const StickyFault& f : state->sticky) {
    if (Matches(options.probe, f.probe) && Matches(options.code, f.code) &&
        Matches(options.entity, f.entity)) {
      checks.push_back(PlanCheck(f));
    }
  }
  if (checks.empty()) {
    out << "nothing to repair: " << state->sticky.size() << " sticky fault"
        << (state->sticky.size() == 1 ? "" : "s") << " in " << state_path
        << (options.probe || options.code || options.entity ? ", none matching the filters" : "")
        << "\n";
    return outcome;
  }
  const platform::RootedFileSystem fs(options.check.sysroot);
  if (const std::string boot = BootId(fs); boot != state->boot_id) {
    out << "nothing to repair: the faults in " << state_path << " are from boot " << state->boot_id
        << ", this is boot " << boot << "; a reboot clears them (the agent does at its start)\n";
    return outcome;
  }

  std::set<std::string> names;
  for (const FaultCheck& c : checks) names.insert(c.probes.begin(), c.probes.end());
  const double at = NowFlooredToMillis();
  Report report;
  if (!names.empty()) {
    CheckOptions run = options.check;
    run.mode = "check";  // active probes run when named
    run.only.assign(names.begin(), names.end());
    run.skip.clear();
    run.timeout_given = true;
    Expected<CheckRun> done = RunCheckOnce(run);
    if (!done) return fail(done.error().message);
    report = std::move(done->report);
    outcome.must_exit_immediately = done->must_exit_immediately;
  }
  agent::RepairRecord record;
  record.at = at;
  for (FaultCheck& c : checks) {
    Judge(report, c);
    if (c.cleared)
      record.faults.push_back({c.fault.probe, c.fault.code, c.fault.entity, c.fault.since});
  }
  for (const ProbeResult& r : report.probes) {
    if (Decided(r)) record.probes.push_back({r.name, std::string(ToString(r.verdict))});
  }
  PrintTable(checks, out);

  const bool all = record.faults.size() == checks.size();
  outcome.exit_code = all ? 0 : 1;
  if (record.faults.empty()) {
    out << "no fault repaired: nothing written; the faults stay until they pass or the node "
           "reboots\n";
  } else if (options.dry_run) {
    out << "dry run: " << record.faults.size() << " fault(s) would be cleared; nothing written\n";
  } else {
    std::tie(record.by, record.uid) = Operator();
    const std::string dir = agent::RepairsDir(*state_dir);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return fail("cannot create " + dir + ": " + std::strerror(errno));
    }
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    const std::string name = std::to_string(ns) + "-" + std::to_string(::getpid()) + ".json";
    if (Expected<bool> written =
            WriteFileAtomically(dir + "/" + name, agent::SerializeRepairRecord(record), 0600);
        !written) {
      return fail(written.error().message);
    }
    out << "repair record " << dir << "/" << name << ": " << record.faults.size()
        << " fault(s) cleared by " << record.by << " (uid " << record.uid
        << "); the agent applies it at its next round\n";
  }
  return outcome;
}

}  // namespace nodehealth
