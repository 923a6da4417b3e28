// Repair records (agent/policy/repair_record.h, repair_inbox.h): the record format, ApplyRepairs
// on the policy state, the XID watermark inside the drain policy, and the agent's inbox that
// refuses what it cannot trust.
#include "agent/policy/repair_record.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "agent/policy/policy_state.h"
#include "agent/policy/repair_inbox.h"
#include "tests/support/fixture_node.h"

namespace nodehealth::agent {
namespace {

constexpr double kT0 = 1'800'000'000.25;  // 2027-01-15T08:00:00.250Z
constexpr char kGpu[] = "gpu/0000:19:00.0";
constexpr char kBusId[] = "0000:19:00.0";

RepairRecord Record(double at, std::vector<RepairedFault> faults) {
  RepairRecord r;
  r.at = at;
  r.by = "alice";
  r.uid = 1234;
  r.faults = std::move(faults);
  r.probes = {{"gpu_presence", "pass"}, {"gpu_health", "warn"}};
  return r;
}

StickyFault Sticky(std::string probe, std::string code, std::string entity, double since) {
  return StickyFault{
      std::move(probe), std::move(code), std::move(entity), "msg", Action::kReboot, since, 7};
}

TEST(RepairRecordTest, RoundTrip) {
  const RepairRecord record = Record(kT0, {{"gpu_presence", "gpu_lost", kGpu, kT0 - 3600.5},
                                           {"gpu_xid", "gpu_xid", kGpu, kT0 - 3600}});
  const std::string text = SerializeRepairRecord(record);
  const nlohmann::json json = nlohmann::json::parse(text);
  EXPECT_EQ(json["schema"], "nodehealth-repair/1");
  EXPECT_EQ(json["at"], "2027-01-15T08:00:00.250Z");
  EXPECT_EQ(json["faults"][0]["since"], "2027-01-15T06:59:59.750Z");
  EXPECT_EQ(json["by"], "alice");
  EXPECT_EQ(json["uid"], 1234);
  EXPECT_EQ(json["probes"][1], (nlohmann::json{{"name", "gpu_health"}, {"verdict", "warn"}}));
  Expected<RepairRecord> back = ParseRepairRecord(text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(*back == record);
}

TEST(RepairRecordTest, Rfc3339) {
  EXPECT_EQ(*ParseRfc3339Utc("2027-01-15T08:00:00.250Z"), kT0);
  EXPECT_EQ(*ParseRfc3339Utc("2027-01-15T08:00:00Z"), kT0 - 0.25);
  EXPECT_EQ(*ParseRfc3339Utc("1970-01-01T00:00:00Z"), 0.0);
  for (const char* bad : {"2027-02-31T00:00:00Z", "2027-01-15 08:00:00Z", "2027-01-15T08:00:00",
                          "2027-01-15T08:00:00+01:00", "2027-01-15T08:00:00.Z",
                          "2027-01-15T24:00:00Z", "27-01-15T08:00:00Z", ""}) {
    EXPECT_FALSE(ParseRfc3339Utc(bad).ok()) << bad;
  }
}

TEST(RepairRecordTest, ParseErrors) {
  const std::string good = SerializeRepairRecord(Record(kT0, {{"p", "gpu_lost", kGpu, kT0}}));
  const auto with = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
  };
  const std::pair<std::string, std::string> cases[] = {
      {"[]", "not a JSON object"},
      {"{}", "\"schema\" is missing, expected \"nodehealth-repair/1\""},
      {with("nodehealth-repair/1", "nodehealth-repair/2"),
       "\"schema\" is \"nodehealth-repair/2\", expected \"nodehealth-repair/1\""},
      {with("\"at\": \"2027-01-15T08:00:00.250Z\"", "\"at\": 1800000000"),
       "\"at\" must be a string"},
      {with("2027-01-15T08:00:00.250Z\",\n  \"by\"", "yesterday\",\n  \"by\""),
       "\"at\" is not an RFC 3339 UTC time (\"2027-01-15T08:00:00.250Z\")"},
      {with("\"by\": \"alice\"", "\"by\": \"\""), "\"by\" must have 1 to 256 bytes"},
      {with("\"by\": \"alice\"", "\"by\": \"" + std::string(257, 'a') + "\""),
       "\"by\" must have 1 to 256 bytes"},
      {with("\"uid\": 1234", "\"uid\": -1"), "\"uid\" must be a uid (a non-negative integer)"},
      {with("\"uid\": 1234", "\"uid\": 4294967296"),
       "\"uid\" must be a uid (a non-negative integer)"},
      {with("\"uid\": 1234", "\"uid\": \"1234\""),
       "\"uid\" must be a uid (a non-negative integer)"},
      {with("\"code\": \"gpu_lost\"", "\"code\": 7"), "\"faults[0].code\" must be a string"},
      {with("\"entity\": \"gpu/0000:19:00.0\",", ""), "\"faults[0].entity\" is missing"},
      {with("\"verdict\": \"warn\"", "\"verdict\": \"error\""),
       "\"probes[1].verdict\" must be pass, warn or fail"},
      {R"({"schema": "nodehealth-repair/1", "at": "2027-01-15T08:00:00Z", "by": "a", "uid": 0,
           "faults": [], "probes": [{"name": "p", "verdict": "pass"}]})",
       "\"faults\" must hold 1 to 256 entries"},
      {R"({"schema": "nodehealth-repair/1", "at": "2027-01-15T08:00:00Z", "by": "a", "uid": 0,
           "faults": [[]], "probes": []})",
       "\"faults[0]\" must be an object"},
      {R"({"schema": "nodehealth-repair/1", "x": [[[[{}]]]]})",
       "line 1: JSON nests deeper than 4 levels"},
      {std::string(kMaxRepairRecordBytes + 1, ' '), "larger than 65536 bytes"},
  };
  for (const auto& [text, error] : cases) {
    Expected<RepairRecord> parsed = ParseRepairRecord(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().message, error) << text;
  }
  EXPECT_EQ(ParseRepairRecord("{").error().message.rfind("not valid JSON: ", 0), 0u);
}

TEST(RepairApplyTest, ClearsTheMatchingFaultsFirstSeenBeforeTheRepair) {
  PolicyState state;
  state.sticky = {Sticky("gpu_presence", "gpu_lost", kGpu, kT0),
                  Sticky("gpu_health", "gpu_row_remap_failure", kGpu, kT0),
                  Sticky("gpu_presence", "gpu_lost", "gpu/0000:3b:00.0", kT0 + 200),
                  Sticky("gpu_health", "gpu_lost", kGpu, kT0)};
  const std::vector<AppliedRepair> applied = ApplyRepairs(
      state,
      {Record(kT0 + 100, {{"gpu_presence", "gpu_lost", kGpu, kT0},
                          // first seen after the repair: a new fault, not the one repaired
                          {"gpu_presence", "gpu_lost", "gpu/0000:3b:00.0", kT0 + 200},
                          {"gpu_presence", "gpu_lost", "gpu/0000:5d:00.0", kT0}})},
      kT0 + 300);
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(applied[0],
            (AppliedRepair{"gpu_presence", "gpu_lost", kGpu, "alice", 1234, kT0 + 100}));
  EXPECT_EQ(state.repairs, applied);
  ASSERT_EQ(state.sticky.size(), 3u);
  EXPECT_EQ(state.sticky[0].code, "gpu_row_remap_failure");
  EXPECT_EQ(state.sticky[1].entity, "gpu/0000:3b:00.0");
  EXPECT_EQ(state.sticky[2].probe, "gpu_health");  // another probe's fault: its own record
  EXPECT_TRUE(state.xid_repaired_at.empty());      // no event code: no watermark
}

TEST(RepairApplyTest, EventFaultsSetTheWatermarkCappedAtNow) {
  PolicyState state;
  state.sticky = {Sticky("gpu_xid", "gpu_xid", kGpu, kT0)};
  ApplyRepairs(state, {Record(kT0 + 1e6, {{"gpu_xid", "gpu_xid", kGpu, kT0}})}, kT0 + 50);
  EXPECT_TRUE(state.sticky.empty());
  EXPECT_EQ(state.xid_repaired_at, (std::map<std::string, double>{{kGpu, kT0 + 50}}));
  ASSERT_EQ(state.repairs.size(), 1u);
  EXPECT_EQ(state.repairs[0].at, kT0 + 50);
  // An older record never lowers it.
  ApplyRepairs(state, {Record(kT0 + 10, {{"gpu_xid", "gpu_xid", kGpu, kT0}})}, kT0 + 60);
  EXPECT_EQ(state.xid_repaired_at.at(kGpu), kT0 + 50);
  EXPECT_EQ(state.repairs.size(), 1u);  // nothing cleared: nothing shown
}

TEST(RepairApplyTest, KeepsTheLatestTwentyRepairs) {
  PolicyState state;
  std::vector<RepairRecord> records;
  for (int i = 0; i < 25; ++i) {
    const std::string entity = "gpu/0000:" + std::to_string(10 + i) + ":00.0";
    state.sticky.push_back(Sticky("gpu_presence", "gpu_lost", entity, kT0));
    records.push_back(Record(kT0 + i, {{"gpu_presence", "gpu_lost", entity, kT0}}));
  }
  EXPECT_EQ(ApplyRepairs(state, records, kT0 + 100).size(), 25u);
  ASSERT_EQ(state.repairs.size(), 20u);
  EXPECT_EQ(state.repairs.front().entity, "gpu/0000:15:00.0");
  EXPECT_EQ(state.repairs.back().entity, "gpu/0000:34:00.0");
  EXPECT_TRUE(state.sticky.empty());
}

// The gpu_xid probe's finding for XID 79 on kGpu, as the kernel-log tally reports it (the tally
// keeps reporting it for the whole boot).
ProbeSnapshot XidSnapshot(uint64_t run) {
  ProbeSnapshot s;
  s.run = run;
  s.result.name = "gpu_xid";
  Finding f =
      MakeFinding("gpu_xid", kGpu, "XID 79 (GPU has fallen off the bus) on GPU 0000:19:00.0",
                  {{"/dev/kmsg", "NVRM: Xid (PCI:0000:19:00): 79, ...", ""},
                   {"NVIDIA XID catalogue", "XID 79: immediate RESTART_BM", ""}});
  f.action = Action::kReboot;
  s.result.findings.push_back(f);
  FinalizeVerdict(s.result);
  return s;
}

XidEventRecord Xid(double time, int xid, uint64_t sequence) {
  return XidEventRecord{"boot-a", sequence, time, kBusId, xid};
}

PolicyOutput Evaluate(const PolicyState& state, uint64_t run, double now,
                      std::vector<XidEventRecord> new_xids = {},
                      const DrainPolicyConfig& config = {}) {
  PolicyInput input;
  input.probes = {XidSnapshot(run)};
  input.new_xids = std::move(new_xids);
  input.boot_id = "boot-a";
  input.now = now;
  return EvaluateDrainPolicy(config, input, state);
}

TEST(RepairXidTest, TheOldEventStaysClearedAndANewXidMakesTheFaultAgain) {
  PolicyOutput out = Evaluate(PolicyState{}, 1, kT0, {Xid(kT0, 79, 100)});
  ASSERT_EQ(out.state.sticky.size(), 1u);
  EXPECT_EQ(out.decision.recommended, true);

  PolicyState state = out.state;
  ASSERT_EQ(
      ApplyRepairs(state, {Record(kT0 + 10, {{"gpu_xid", "gpu_xid", kGpu, kT0}})}, kT0 + 20).size(),
      1u);
  // The same event is still in the log (the tally reports it every run) and in the history.
  for (uint64_t run = 2; run <= 4; ++run) {
    out = Evaluate(state, run, kT0 + 20 + static_cast<double>(run));
    EXPECT_EQ(out.decision.recommended, false) << run;
    EXPECT_TRUE(out.decision.reasons.empty()) << run;
    EXPECT_TRUE(out.state.sticky.empty()) << run;
    state = out.state;
  }
  EXPECT_EQ(state.xid_history.size(), 1u);
  // Another XID number on that GPU does not bring XID 79 back.
  out = Evaluate(state, 5, kT0 + 30, {Xid(kT0 + 30, 13, 101)});
  EXPECT_EQ(out.decision.recommended, false);
  state = out.state;
  // A new XID 79 after the repair does.
  out = Evaluate(state, 6, kT0 + 40, {Xid(kT0 + 40, 79, 102)});
  EXPECT_EQ(out.decision.recommended, true);
  ASSERT_EQ(out.decision.reasons.size(), 1u);
  EXPECT_EQ(out.decision.reasons[0].code, "gpu_xid");
  EXPECT_EQ(out.decision.reasons[0].entity, kGpu);
  EXPECT_EQ(out.decision.action, Action::kReboot);
  ASSERT_EQ(out.state.sticky.size(), 1u);
  EXPECT_EQ(out.state.sticky[0].since, kT0 + 40);
}

TEST(RepairXidTest, XidWindowsCountOnlyEventsAfterTheRepair) {
  DrainPolicyConfig config;
  config.xid_windows[31] = XidWindowRule{2, 3600, Action::kDrain};
  PolicyInput input;
  input.boot_id = "boot-a";
  input.now = kT0 + 2;
  input.new_xids = {Xid(kT0, 31, 1), Xid(kT0 + 1, 31, 2)};
  PolicyOutput out = EvaluateDrainPolicy(config, input, PolicyState{});
  ASSERT_EQ(out.decision.reasons.size(), 1u);
  EXPECT_EQ(out.decision.reasons[0].entity, kGpu);

  PolicyState state = out.state;
  ApplyRepairs(state, {Record(kT0 + 5, {{"gpu_xid", "gpu_xid", kGpu, kT0}})}, kT0 + 5);
  input.new_xids = {};
  input.now = kT0 + 10;
  out = EvaluateDrainPolicy(config, input, state);
  EXPECT_EQ(out.decision.recommended, false);

  input.new_xids = {Xid(kT0 + 11, 31, 3)};  // one new: below the window's count
  out = EvaluateDrainPolicy(config, input, out.state);
  EXPECT_EQ(out.decision.recommended, false);
  input.new_xids = {Xid(kT0 + 12, 31, 4)};
  out = EvaluateDrainPolicy(config, input, out.state);
  ASSERT_EQ(out.decision.reasons.size(), 1u);
  EXPECT_EQ(out.decision.reasons[0].message,
            "XID 31 on GPU 0000:19:00.0 2 times in the last 3600 s (drain at 2)");
}

TEST(RepairStateTest, PersistedInTheStateFileAndShownToPeople) {
  PolicyState state;
  state.boot_id = "boot-a";
  state.xid_repaired_at[kGpu] = kT0;
  state.repairs.push_back(AppliedRepair{"gpu_xid", "gpu_xid", kGpu, "alice", 1234, kT0});
  const std::string text = SerializePolicyState(state);
  EXPECT_EQ(text.rfind("{\"schema\":\"nodehealth-agent-state/3\",", 0), 0u) << text;
  Expected<PolicyState> back = ParsePolicyState(text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(*back == state);

  const nlohmann::json view = PolicyStatusJson(state);
  EXPECT_EQ(view["repairs"], nlohmann::json::parse(R"([{"code": "gpu_xid",
      "entity": "gpu/0000:19:00.0", "probe": "gpu_xid", "by": "alice", "uid": 1234,
      "at": "2027-01-15T08:00:00.250Z"}])"));

  // A /2 file (before repairs) still reads, without them.
  std::string v2 = SerializePolicyState(PolicyState{});
  v2.replace(v2.find("agent-state/3"), 13, "agent-state/2");
  v2.replace(v2.find(",\"xid_repaired_at\""),
             std::string(",\"xid_repaired_at\":{},\"repairs\":[]").size(), "");
  Expected<PolicyState> old = ParsePolicyState(v2);
  ASSERT_TRUE(old.ok()) << old.error().message << "\n" << v2;
  EXPECT_TRUE(old->repairs.empty());

  std::string wrong = text;
  wrong.replace(wrong.find("\"uid\":1234"), 10, "\"uid\":-1");
  EXPECT_EQ(ParsePolicyState(wrong).error().message,
            "\"repairs[0].uid\" must be a non-negative integer");
}

class RepairInboxTest : public ::testing::Test {
 protected:
  RepairInboxTest() { std::filesystem::create_directories(inbox_dir()); }
  std::string state_dir() const { return dir_.path(); }
  std::string inbox_dir() const { return RepairsDir(dir_.path()); }
  std::string Write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    const std::string path = inbox_dir() + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  static std::string Good() {
    return SerializeRepairRecord(Record(kT0, {{"gpu_xid", "gpu_xid", kGpu, kT0}}));
  }
  bool Exists(const std::string& path) const {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
  }

  nodehealth::testing::TempDir dir_;
};

TEST_F(RepairInboxTest, TrustedRecordsAreReadInOrderAndFiledAsApplied) {
  Write("1800000000000000002-7.json", Good());
  Write("1800000000000000001-7.json", Good());
  Write(".1800000000000000003-7.json.tmp.abcdef", "{half");  // a writer's temporary
  Write("notes.txt", "not a record");
  RepairInbox inbox = CollectRepairs(state_dir());
  EXPECT_TRUE(inbox.rejected.empty()) << inbox.rejected[0];
  ASSERT_EQ(inbox.paths.size(), 2u);
  EXPECT_EQ(inbox.paths[0], inbox_dir() + "/1800000000000000001-7.json");
  EXPECT_EQ(inbox.records[0].by, "alice");
  EXPECT_TRUE(FileAppliedRepairs(state_dir(), inbox.paths).empty());
  EXPECT_TRUE(Exists(inbox_dir() + "/applied/1800000000000000001-7.json"));
  EXPECT_FALSE(Exists(inbox.paths[1]));
  EXPECT_TRUE(Exists(inbox_dir() + "/.1800000000000000003-7.json.tmp.abcdef"));
  EXPECT_TRUE(Exists(inbox_dir() + "/notes.txt"));
  EXPECT_TRUE(CollectRepairs(state_dir()).records.empty());
}

TEST_F(RepairInboxTest, UntrustedOrMalformedRecordsAreRejectedNeverApplied) {
  Write("1-writable.json", Good(), 0666);
  Write("2-group.json", Good(), 0620);
  Write("3-malformed.json", "{\"schema\": \"nodehealth-repair/1\"}");
  Write("4-large.json", std::string(kMaxRepairRecordBytes + 1, ' '));
  const std::string target = Write("target.txt", Good());
  ASSERT_EQ(::symlink(target.c_str(), (inbox_dir() + "/5-link.json").c_str()), 0);
  ASSERT_EQ(::mkfifo((inbox_dir() + "/6-fifo.json").c_str(), 0600), 0);  // must not block
  bool other_owner = false;
  if (::geteuid() == 0) {
    const std::string path = Write("7-other.json", Good());
    other_owner = ::chown(path.c_str(), 12345, 12345) == 0;
  }
  const RepairInbox inbox = CollectRepairs(state_dir());
  EXPECT_TRUE(inbox.records.empty());
  EXPECT_EQ(inbox.rejected.size(), other_owner ? 7u : 6u);
  for (const char* name : {"1-writable.json", "2-group.json", "3-malformed.json", "4-large.json",
                           "5-link.json", "6-fifo.json"}) {
    EXPECT_FALSE(Exists(inbox_dir() + "/" + name)) << name;
    EXPECT_TRUE(Exists(inbox_dir() + "/rejected/" + name)) << name;
  }
  ASSERT_GE(inbox.rejected.size(), 3u);
  EXPECT_EQ(inbox.rejected[2],
            "rejected repair record " + inbox_dir() + "/3-malformed.json: \"at\" is missing");
  EXPECT_TRUE(Exists(target));  // the link was moved, not followed
}

TEST_F(RepairInboxTest, AppliedKeepsTheNewestHundred) {
  std::vector<std::string> paths;
  for (int i = 0; i < 103; ++i) {
    paths.push_back(Write(std::to_string(1000 + i) + "-1.json", Good()));
  }
  EXPECT_TRUE(FileAppliedRepairs(state_dir(), paths).empty());
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(inbox_dir() + "/applied")) {
    (void)entry;
    ++count;
  }
  EXPECT_EQ(count, 100u);
  EXPECT_FALSE(Exists(inbox_dir() + "/applied/1002-1.json"));
  EXPECT_TRUE(Exists(inbox_dir() + "/applied/1003-1.json"));
}

}  // namespace
}  // namespace nodehealth::agent
