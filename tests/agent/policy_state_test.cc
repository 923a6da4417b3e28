#include "agent/policy/policy_state.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace nodehealth::agent {
namespace {

constexpr double kT0 = 1'800'000'000.25;  // 2027-01-15T08:00:00.250Z

PolicyState FullState() {
  PolicyState s;
  s.boot_id = "6f1c2a9e-0000-4000-8000-000000000001";
  s.sticky.push_back(StickyFault{"gpu_xid", "gpu_xid", "gpu/0000:19:00.0", "XID 79 \"fallen\"",
                                 Action::kResetGpu, kT0, 42});
  s.pending.push_back(PendingFault{"ib_ports", "ib_port_errors", "hca/mlx5_0/1", 2, 3, 17});
  s.pending.push_back(
      PendingFault{"rdma_loopback", "rdma_loopback_bandwidth_low", "hca/mlx5_1/1", 3, 3, 4});
  s.xid_history.push_back(XidEventRecord{"boot-0", 0, 1.5, "", 13});
  s.xid_history.push_back(
      XidEventRecord{s.boot_id, 18446744073709551615u, kT0 - 0.1, "0000:19:00.0", 79});
  s.decision.recommended = true;
  s.decision.action = Action::kResetGpu;
  s.decision.reasons.push_back(
      DrainReason{"gpu_xid", "gpu/0000:19:00.0", "XID 79 \"fallen\"", Action::kResetGpu});
  s.decided_at = kT0 + 1e-6;
  s.last_run_id = 42;
  s.xid_sequence_seen = 18446744073709551615u;
  return s;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "policy_state.XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(PolicyStateTest, RoundTrip) {
  const PolicyState state = FullState();
  const std::string text = SerializePolicyState(state);
  EXPECT_EQ(text.rfind("{\"schema\":\"nodehealth-agent-state/3\",", 0), 0u) << text;
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "one line";
  Expected<PolicyState> back = ParsePolicyState(text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(*back == state);
  EXPECT_EQ(back->xid_history[1].sequence, 18446744073709551615u);
  EXPECT_EQ(back->decided_at, kT0 + 1e-6);

  EXPECT_TRUE(*ParsePolicyState(SerializePolicyState(PolicyState{})) == PolicyState{});
}

TEST(PolicyStateTest, SaveAndLoad) {
  TempDir dir;
  const std::string path = dir.File("state.json");
  ASSERT_TRUE(SavePolicyState(path, FullState()).ok());
  Expected<PolicyState> loaded = LoadPolicyState(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_TRUE(*loaded == FullState());
}

TEST(PolicyStateTest, MissingFileIsAnEmptyState) {
  TempDir dir;
  Expected<PolicyState> loaded = LoadPolicyState(dir.File("absent.json"));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_TRUE(*loaded == PolicyState{});
}

TEST(PolicyStateTest, CorruptFileIsAnErrorNamingThePath) {
  TempDir dir;
  const std::string path = dir.File("state.json");
  Write(path, "{\"schema\": \"nodehealth-agent-state/2\", \"boot_id\": ");
  Expected<PolicyState> loaded = LoadPolicyState(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().message.rfind(path + ": not valid JSON: ", 0), 0u)
      << loaded.error().message;

  Write(path, "");
  EXPECT_FALSE(LoadPolicyState(path).ok());
}

TEST(PolicyStateTest, UnreadableFileIsAnError) {
  TempDir dir;
  // A directory opens as a stream on Linux but cannot be read: not "missing", so an error.
  const std::string path = dir.File("state.json");
  std::filesystem::create_directory(path);
  EXPECT_FALSE(LoadPolicyState(path).ok());
}

TEST(PolicyStateTest, WrongSchemaOrTypesAreErrors) {
  const std::string good = SerializePolicyState(FullState());
  const auto with = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
  };
  const std::pair<std::string, std::string> cases[] = {
      {with("nodehealth-agent-state/3", "nodehealth-agent-state/4"),
       "\"schema\" is \"nodehealth-agent-state/4\", expected \"nodehealth-agent-state/3\""},
      {"[]", "not a JSON object"},
      {"{}", "\"schema\" is missing, expected \"nodehealth-agent-state/3\""},
      {with("\"boot_id\":\"6f1c", "\"boot_idx\":\"6f1c"), "\"boot_id\" is missing"},
      {with("\"since\":", "\"since\":\"x\",\"y\":"), "\"sticky[0].since\" must be a number"},
      {with("\"failing_runs\":2", "\"failing_runs\":-2"),
       "\"pending[0].failing_runs\" must be a non-negative integer"},
      {with("\"last_run\":42", "\"last_run\":4.2"),
       "\"sticky[0].last_run\" must be a non-negative integer"},
      {with("\"action\":\"reset_gpu\"", "\"action\":\"panic\""),
       "\"decision.action\" is not an action: \"panic\""},
      {with("\"recommended\":true", "\"recommended\":1"),
       "\"decision.recommended\" must be true or false"},
      {with("\"pending\":[", "\"pending\":3,\"x\":["), "\"pending\" must be an array"},
      {with("[0,1.5,\"\",13]", "[0,1.5,\"\",\"13\"]"),
       "\"xid_history[0].events[0]\" must be [sequence, time, \"bus id\", xid]"},
      {with("\"xid_sequence_seen\":", "\"xid_sequence_seenx\":"),
       "\"xid_sequence_seen\" is missing"},
      {with("\"last_run_id\":42", "\"last_run_id\":-42"),
       "\"last_run_id\" must be a non-negative integer"},
  };
  for (const auto& [text, error] : cases) {
    Expected<PolicyState> parsed = ParsePolicyState(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().message, error);
  }
  EXPECT_EQ(ParsePolicyState("nonsense").error().message.rfind("not valid JSON: ", 0), 0u);
}

TEST(PolicyStateTest, ReadsTheFirstSchema) {
  // What an agent before the grouped history wrote: one object per XID and no run ids; the
  // sequence of this boot's XIDs already counted follows from the history.
  const std::string v1 = R"({"schema": "nodehealth-agent-state/1", "boot_id": "boot-a",
    "decided_at": 0, "decision": {"recommended": false, "action": "none", "reasons": []},
    "sticky": [], "pending": [{"probe": "ib_ports", "code": "ib_port_errors",
      "entity": "hca/mlx5_0/1", "failing_runs": 1, "needed_runs": 3, "last_run": 9}],
    "xid_history": [
      {"boot_id": "boot-0", "sequence": 700, "time": 1.5, "bus_id": "", "xid": 13},
      {"boot_id": "boot-a", "sequence": 12, "time": 2.5, "bus_id": "0000:19:00.0", "xid": 31},
      {"boot_id": "boot-a", "sequence": 0, "time": 3.5, "bus_id": "0000:19:00.0", "xid": 79}]})";
  Expected<PolicyState> state = ParsePolicyState(v1);
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_EQ(state->xid_history.size(), 3u);
  EXPECT_EQ(state->xid_history[1].bus_id, "0000:19:00.0");
  EXPECT_EQ(state->xid_sequence_seen, 12u);
  EXPECT_EQ(state->last_run_id, 0u);
  EXPECT_EQ(HighestRunId(*state), 9u);
  // Written back in the current schema, it reads the same.
  Expected<PolicyState> again = ParsePolicyState(SerializePolicyState(*state));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(*again == *state);
}

TEST(PolicyStateTest, AFullHistoryIsSmall) {
  // Issue 13 item 11: the file is rewritten while XIDs arrive; 10,000 events were 1.3 MB.
  PolicyState state;
  state.boot_id = "6f1c2a9e-0000-4000-8000-000000000001";
  for (uint64_t i = 0; i < 10000; ++i) {
    state.xid_history.push_back(
        XidEventRecord{state.boot_id, 100000 + i, kT0 + 0.05 * i, "0000:19:00.0", 31});
  }
  const std::string text = SerializePolicyState(state);
  EXPECT_LT(text.size(), 500u * 1024) << text.size();
  Expected<PolicyState> back = ParsePolicyState(text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(*back == state);
}

TEST(PolicyStateTest, PolicyStatusJson) {
  const nlohmann::json status = PolicyStatusJson(FullState());
  EXPECT_EQ(status["decided_at"], "2027-01-15T08:00:00.250Z");
  ASSERT_EQ(status["sticky"].size(), 1u);
  EXPECT_EQ(status["sticky"][0]["code"], "gpu_xid");
  EXPECT_EQ(status["sticky"][0]["probe"], "gpu_xid");
  EXPECT_EQ(status["sticky"][0]["since"], "2027-01-15T08:00:00.250Z");
  EXPECT_EQ(status["sticky"][0]["action"], "reset_gpu");
  // The rdma entry reached its threshold: a reason now, no longer pending.
  ASSERT_EQ(status["pending"].size(), 1u);
  EXPECT_EQ(status["pending"][0], (nlohmann::json{{"probe", "ib_ports"},
                                                  {"code", "ib_port_errors"},
                                                  {"entity", "hca/mlx5_0/1"},
                                                  {"failing_runs", 2},
                                                  {"needed_runs", 3}}));
  EXPECT_TRUE(PolicyStatusJson(PolicyState{})["decided_at"].is_null());
}

}  // namespace
}  // namespace nodehealth::agent
