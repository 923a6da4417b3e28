#include "agent/slurm/slurm_node.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace nodehealth::slurm {
namespace {

using Flags = std::set<std::string>;

// Real `scontrol show node -o` lines from Slurm 22.05.8 (one node "vm", partition "test").
constexpr char kLineHead[] =
    "NodeName=vm Arch=x86_64 CoresPerSocket=1  CPUAlloc=0 CPUEfctv=2 CPUTot=2 CPULoad=0.01 "
    "AvailableFeatures=(null) ActiveFeatures=(null) Gres=(null) NodeAddr=127.0.0.1 "
    "NodeHostName=vm Version=22.05.8 OS=Linux 6.18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0  "
    "RealMemory=1 AllocMem=0 FreeMem=23715 Sockets=2 Boards=1 State=IDLE+DRAIN ThreadsPerCore=1 "
    "TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A Partitions=test  BootTime=2026-11-23T19:26:54 "
    "SlurmdStartTime=2026-11-24T02:45:31 LastBusyTime=2026-11-24T02:45:31 "
    "CfgTRES=cpu=2,mem=1M,billing=2 AllocTRES= CapWatts=n/a CurrentWatts=0 AveWatts=0 "
    "ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s";
constexpr char kDrainedReason[] =
    " Reason=nodehealth: gpu_row_remap_pending gpu/0000:19:00.0 [root@2026-11-24T02:45:52]";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// ---- ParseNodeState ----

TEST(SlurmNodeStateTest, BaseAndFlags) {
  const struct {
    const char* text;
    const char* base;
    Flags flags;
  } cases[] = {
      {"IDLE", "IDLE", {}},
      {"IDLE+DRAIN", "IDLE", {"DRAIN"}},
      {"MIXED+DRAIN", "MIXED", {"DRAIN"}},
      {"ALLOCATED", "ALLOCATED", {}},
      {"DOWN+DRAIN+NOT_RESPONDING", "DOWN", {"DRAIN", "NOT_RESPONDING"}},
      {"IDLE+CLOUD+POWERED_DOWN", "IDLE", {"CLOUD", "POWERED_DOWN"}},
      {"IDLE+COMPLETING", "IDLE", {"COMPLETING"}},
      {"MIXED+REBOOT_REQUESTED", "MIXED", {"REBOOT_REQUESTED"}},
      {"FUTURE", "FUTURE", {}},
      {"DRAINED", "DRAINED", {}},
      // The one-character suffixes of sinfo and older scontrol.
      {"IDLE*", "IDLE", {"NOT_RESPONDING"}},
      {"IDLE~", "IDLE", {"POWERED_DOWN"}},
      {"ALLOCATED#", "ALLOCATED", {"POWERING_UP"}},
      {"IDLE%", "IDLE", {"POWERING_DOWN"}},
      {"IDLE!", "IDLE", {"POWER_DOWN"}},
      {"MIXED@", "MIXED", {"REBOOT_REQUESTED"}},
      {"IDLE^", "IDLE", {"REBOOT_ISSUED"}},
      {"IDLE$", "IDLE", {"MAINTENANCE"}},
      {"IDLE-", "IDLE", {"PLANNED"}},
      {"IDLE+DRAIN~", "IDLE", {"DRAIN", "POWERED_DOWN"}},
      {"DOWN*+DRAIN", "DOWN", {"NOT_RESPONDING", "DRAIN"}},
      {"IDLE*~", "IDLE", {"NOT_RESPONDING", "POWERED_DOWN"}},
      // Lower case is read as upper case.
      {"idle+drain", "IDLE", {"DRAIN"}},
      {"mixed+completing*", "MIXED", {"COMPLETING", "NOT_RESPONDING"}},
      // Degenerate text: no base, and no crash on a part made only of suffixes.
      {"", "", {}},
      {"~", "", {"POWERED_DOWN"}},
      {"IDLE+*", "IDLE", {"NOT_RESPONDING"}},
  };
  for (const auto& c : cases) {
    const NodeState state = ParseNodeState(c.text);
    EXPECT_EQ(state.text, c.text);
    EXPECT_EQ(state.base, c.base) << c.text;
    EXPECT_EQ(state.flags, c.flags) << c.text;
  }
}

TEST(SlurmNodeStateTest, Has) {
  const NodeState state = ParseNodeState("IDLE+DRAIN~");
  EXPECT_TRUE(state.Has("DRAIN"));
  EXPECT_TRUE(state.Has("POWERED_DOWN"));
  EXPECT_FALSE(state.Has("IDLE"));
  EXPECT_FALSE(state.Has("drain"));
}

TEST(SlurmNodeStateTest, IsDrained) {
  for (const char* text : {"IDLE+DRAIN", "MIXED+DRAIN", "ALLOCATED+DRAIN",
                           "DOWN+DRAIN+NOT_RESPONDING", "DRAINED", "DRAINING", "idle+drain"}) {
    EXPECT_TRUE(IsDrained(ParseNodeState(text))) << text;
  }
  for (const char* text : {"IDLE", "MIXED", "ALLOCATED", "DOWN", "IDLE+CLOUD+POWERED_DOWN", ""}) {
    EXPECT_FALSE(IsDrained(ParseNodeState(text))) << text;
  }
}

TEST(SlurmNodeStateTest, IsNodehealthReason) {
  EXPECT_TRUE(IsNodehealthReason("nodehealth: gpu_lost gpu/0000:9b:00.0"));
  EXPECT_TRUE(IsNodehealthReason("nodehealth:gpu_lost"));
  EXPECT_FALSE(IsNodehealthReason("Nodehealth: gpu_lost"));
  EXPECT_FALSE(IsNodehealthReason(" nodehealth: gpu_lost"));
  EXPECT_FALSE(IsNodehealthReason("bios update: set X=1"));
  EXPECT_FALSE(IsNodehealthReason(""));
}

// ---- WhyNotActionable ----

TEST(SlurmNodeStateTest, ActionableStates) {
  for (const char* text :
       {"IDLE", "MIXED", "ALLOCATED", "IDLE+DRAIN", "MIXED+DRAIN", "ALLOCATED+DRAIN", "DRAINED",
        "DRAINING", "idle", "IDLE+CLOUD", "MIXED+RESERVED", "IDLE+MAINTENANCE", "IDLE$"}) {
    EXPECT_EQ(WhyNotActionable(ParseNodeState(text)), "") << text;
  }
}

TEST(SlurmNodeStateTest, NonActionableBases) {
  for (const char* text : {"DOWN", "FUTURE", "UNKNOWN", "DOWN+DRAIN", "DOWN+DRAIN+NOT_RESPONDING",
                           "down", "FUTURE+CLOUD", ""}) {
    EXPECT_EQ(
        WhyNotActionable(ParseNodeState(text)),
        "node state " + std::string(text) + " (only IDLE, MIXED or ALLOCATED nodes are acted on)")
        << text;
  }
}

TEST(SlurmNodeStateTest, TransitionalFlags) {
  for (const char* flag :
       {"COMPLETING", "POWERING_UP", "POWERING_DOWN", "POWERED_DOWN", "POWER_DOWN", "REBOOT_ISSUED",
        "REBOOT_REQUESTED", "NOT_RESPONDING", "FAIL", "RESUME"}) {
    for (const char* base : {"IDLE", "MIXED", "ALLOCATED", "IDLE+DRAIN"}) {
      const std::string text = std::string(base) + "+" + flag;
      EXPECT_EQ(WhyNotActionable(ParseNodeState(text)),
                "node state " + text + " (" + std::string(flag) + ")");
    }
  }
  // The suffix forms name the same flags.
  const std::pair<const char*, const char*> suffixed[] = {
      {"IDLE*", "NOT_RESPONDING"},
      {"IDLE~", "POWERED_DOWN"},
      {"ALLOCATED#", "POWERING_UP"},
      {"IDLE%", "POWERING_DOWN"},
      {"IDLE!", "POWER_DOWN"},
      {"MIXED@", "REBOOT_REQUESTED"},
      {"IDLE^", "REBOOT_ISSUED"},
      {"IDLE+DRAIN~", "POWERED_DOWN"},
      {"IDLE+CLOUD+POWERED_DOWN", "POWERED_DOWN"},
  };
  for (const auto& [text, flag] : suffixed) {
    EXPECT_EQ(WhyNotActionable(ParseNodeState(text)),
              "node state " + std::string(text) + " (" + flag + ")");
  }
}

// ---- ParseSlurmNodeLine ----

TEST(SlurmNodeLineTest, DrainedByNodehealth) {
  Expected<SlurmNode> node = ParseSlurmNodeLine(std::string(kLineHead) + kDrainedReason);
  ASSERT_TRUE(node.ok()) << node.error().message;
  EXPECT_EQ(node->name, "vm");
  EXPECT_EQ(node->state.text, "IDLE+DRAIN");
  EXPECT_EQ(node->state.base, "IDLE");
  EXPECT_EQ(node->state.flags, Flags{"DRAIN"});
  EXPECT_EQ(node->partitions, std::vector<std::string>{"test"});
  EXPECT_EQ(node->reason, "nodehealth: gpu_row_remap_pending gpu/0000:19:00.0");
  EXPECT_EQ(node->reason_user, "root");
  EXPECT_EQ(node->reason_time, "2026-11-24T02:45:52");
}

TEST(SlurmNodeLineTest, NoReason) {
  const std::string line = Replace(kLineHead, "State=IDLE+DRAIN", "State=IDLE");
  Expected<SlurmNode> node = ParseSlurmNodeLine(line);
  ASSERT_TRUE(node.ok()) << node.error().message;
  EXPECT_EQ(node->name, "vm");
  EXPECT_EQ(node->state.base, "IDLE");
  EXPECT_EQ(node->state.flags, Flags{});
  EXPECT_EQ(node->partitions, std::vector<std::string>{"test"});
  EXPECT_EQ(node->reason, "");
  EXPECT_EQ(node->reason_user, "");
  EXPECT_EQ(node->reason_time, "");
}

TEST(SlurmNodeLineTest, SeveralPartitionsAndLineEnd) {
  const std::string line =
      Replace(kLineHead, "Partitions=test ", "Partitions=gpu,debug ") + kDrainedReason + "\r\n";
  Expected<SlurmNode> node = ParseSlurmNodeLine(line);
  ASSERT_TRUE(node.ok()) << node.error().message;
  EXPECT_EQ(node->partitions, (std::vector<std::string>{"gpu", "debug"}));
  // The line end is not part of the reason's time.
  EXPECT_EQ(node->reason_time, "2026-11-24T02:45:52");
  EXPECT_EQ(node->reason, "nodehealth: gpu_row_remap_pending gpu/0000:19:00.0");
}

TEST(SlurmNodeLineTest, ForeignReasonWithSpacesAndEquals) {
  const std::string line =
      std::string(kLineHead) + " Reason=bios update: set X=1 [alice@2026-11-20T10:00:00]";
  Expected<SlurmNode> node = ParseSlurmNodeLine(line);
  ASSERT_TRUE(node.ok()) << node.error().message;
  EXPECT_EQ(node->name, "vm");
  EXPECT_EQ(node->state.text, "IDLE+DRAIN");
  EXPECT_EQ(node->reason, "bios update: set X=1");
  EXPECT_EQ(node->reason_user, "alice");
  EXPECT_EQ(node->reason_time, "2026-11-20T10:00:00");
}

TEST(SlurmNodeLineTest, ReasonWithoutStamp) {
  // Slurm prints no " [user@time]" when the reason has no time; brackets inside are kept.
  Expected<SlurmNode> node =
      ParseSlurmNodeLine("NodeName=gpu01 State=DOWN Reason=Not responding [see ticket 12]");
  ASSERT_TRUE(node.ok()) << node.error().message;
  EXPECT_EQ(node->reason, "Not responding [see ticket 12]");
  EXPECT_EQ(node->reason_user, "");
  EXPECT_EQ(node->reason_time, "");
  EXPECT_TRUE(node->partitions.empty());

  Expected<SlurmNode> plain = ParseSlurmNodeLine("NodeName=gpu01 State=DOWN Reason=maintenance");
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(plain->reason, "maintenance");

  Expected<SlurmNode> null = ParseSlurmNodeLine("NodeName=gpu01 State=IDLE Reason=(null)");
  ASSERT_TRUE(null.ok()) << null.error().message;
  EXPECT_EQ(null->reason, "");
}

TEST(SlurmNodeLineTest, OnlyWholeKeysCount) {
  // NodeHostName= is not NodeName=, and a key inside a value is not a key.
  Expected<SlurmNode> node = ParseSlurmNodeLine("NodeHostName=vm State=IDLE");
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.error().message, "no NodeName= in scontrol line: NodeHostName=vm State=IDLE");

  Expected<SlurmNode> state = ParseSlurmNodeLine("NodeName=gpu01 SlurmdState=IDLE");
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().message, "no State= for node gpu01");
}

TEST(SlurmNodeLineTest, MissingNameOrState) {
  const std::string no_name = Replace(kLineHead, "NodeName=vm ", "");
  Expected<SlurmNode> a = ParseSlurmNodeLine(no_name);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().message, "no NodeName= in scontrol line: " + no_name.substr(0, 120));

  Expected<SlurmNode> b = ParseSlurmNodeLine(Replace(kLineHead, "State=IDLE+DRAIN ", ""));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().message, "no State= for node vm");

  Expected<SlurmNode> c = ParseSlurmNodeLine(Replace(kLineHead, "State=IDLE+DRAIN ", "State= "));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "no State= for node vm");

  Expected<SlurmNode> d = ParseSlurmNodeLine("NodeName= State=IDLE");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message, "no NodeName= in scontrol line: NodeName= State=IDLE");

  Expected<SlurmNode> e = ParseSlurmNodeLine("No nodes in the system");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message, "no NodeName= in scontrol line: No nodes in the system");
}

// ---- ParseSlurmNodes ----

TEST(SlurmNodeLineTest, SeveralLinesWithBlankOnes) {
  const std::string drained = std::string(kLineHead) + kDrainedReason;
  const std::string idle = Replace(Replace(kLineHead, "NodeName=vm ", "NodeName=vm2 "),
                                   "State=IDLE+DRAIN", "State=MIXED");
  Expected<std::vector<SlurmNode>> nodes =
      ParseSlurmNodes("\n" + drained + "\n\n   \n" + idle + "\r\n\n");
  ASSERT_TRUE(nodes.ok()) << nodes.error().message;
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].name, "vm");
  EXPECT_EQ((*nodes)[0].reason, "nodehealth: gpu_row_remap_pending gpu/0000:19:00.0");
  EXPECT_EQ((*nodes)[1].name, "vm2");
  EXPECT_EQ((*nodes)[1].state.base, "MIXED");
  EXPECT_EQ((*nodes)[1].reason, "");

  Expected<std::vector<SlurmNode>> none = ParseSlurmNodes("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(SlurmNodeLineTest, OneBadLineFailsAll) {
  Expected<std::vector<SlurmNode>> nodes =
      ParseSlurmNodes(std::string(kLineHead) + "\nslurm_load_node error: Unable to contact\n");
  ASSERT_FALSE(nodes.ok());
  EXPECT_EQ(nodes.error().message,
            "no NodeName= in scontrol line: slurm_load_node error: Unable to contact");

  Expected<std::vector<SlurmNode>> no_state =
      ParseSlurmNodes("NodeName=a State=IDLE\nNodeName=b\n");
  ASSERT_FALSE(no_state.ok());
  EXPECT_EQ(no_state.error().message, "no State= for node b");
}

}  // namespace
}  // namespace nodehealth::slurm
