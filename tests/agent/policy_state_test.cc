#include "agent/policy_state.h"

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
  EXPECT_NE(text.find("\"schema\": \"nodehealth-agent-state/1\""), std::string::npos) << text;
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
  Write(path, "{\"schema\": \"nodehealth-agent-state/1\", \"boot_id\": ");
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
      {with("nodehealth-agent-state/1", "nodehealth-agent-state/2"),
       "\"schema\" is \"nodehealth-agent-state/2\", expected \"nodehealth-agent-state/1\""},
      {"[]", "not a JSON object"},
      {"{}", "\"schema\" is missing, expected \"nodehealth-agent-state/1\""},
      {with("\"boot_id\": \"6f1c", "\"boot_idx\": \"6f1c"), "\"boot_id\" is missing"},
      {with("\"since\": ", "\"since\": \"x\", \"y\": "), "\"sticky[0].since\" must be a number"},
      {with("\"failing_runs\": 2", "\"failing_runs\": -2"),
       "\"pending[0].failing_runs\" must be a non-negative integer"},
      {with("\"last_run\": 42", "\"last_run\": 4.2"),
       "\"sticky[0].last_run\" must be a non-negative integer"},
      {with("\"action\": \"reset_gpu\"", "\"action\": \"panic\""),
       "\"decision.action\" is not an action: \"panic\""},
      {with("\"recommended\": true", "\"recommended\": 1"),
       "\"decision.recommended\" must be true or false"},
      {with("\"pending\": [", "\"pending\": 3, \"x\": ["), "\"pending\" must be an array"},
      {with("\"xid\": 13", "\"xid\": \"13\""),
       "\"xid_history[0].xid\" must be a non-negative integer"},
  };
  for (const auto& [text, error] : cases) {
    Expected<PolicyState> parsed = ParsePolicyState(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().message, error);
  }
  EXPECT_EQ(ParsePolicyState("nonsense").error().message.rfind("not valid JSON: ", 0), 0u);
}

TEST(PolicyStateTest, StatusFile) {
  const nlohmann::json status =
      nlohmann::json::parse(RenderStatusFile("gpu-node-07", FullState(), kT0 + 60));
  EXPECT_EQ(status["schema"], "nodehealth-status/1");
  EXPECT_EQ(status["node"], "gpu-node-07");
  EXPECT_EQ(status["updated_at"], "2027-01-15T08:01:00.250Z");
  EXPECT_EQ(status["decided_at"], "2027-01-15T08:00:00.250Z");
  EXPECT_EQ(status["drain"]["recommended"], true);
  EXPECT_EQ(status["drain"]["action"], "reset_gpu");
  ASSERT_EQ(status["drain"]["reasons"].size(), 1u);
  EXPECT_EQ(status["drain"]["reasons"][0], (nlohmann::json{{"code", "gpu_xid"},
                                                           {"entity", "gpu/0000:19:00.0"},
                                                           {"message", "XID 79 \"fallen\""},
                                                           {"action", "reset_gpu"}}));
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
}

TEST(PolicyStateTest, StatusFileBeforeTheFirstDecision) {
  const nlohmann::json status = nlohmann::json::parse(RenderStatusFile("n", PolicyState{}, 0));
  EXPECT_TRUE(status["decided_at"].is_null());
  EXPECT_EQ(status["updated_at"], "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(status["drain"]["recommended"], false);
  EXPECT_EQ(status["drain"]["action"], "none");
  EXPECT_TRUE(status["drain"]["reasons"].empty());
  EXPECT_TRUE(status["sticky"].is_array());
  EXPECT_TRUE(status["pending"].is_array());
}

}  // namespace
}  // namespace nodehealth::agent
