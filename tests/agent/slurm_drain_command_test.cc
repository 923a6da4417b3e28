// `nodehealth slurm-drain` end to end against a stand-in scontrol: a script that serves
// `show node -o [NAME]` from one file per node, records every call, and on `update ... State=DRAIN`
// rewrites the node's line as Slurm would show it afterwards (IDLE+DRAIN with the reason), so
// that the fresh read before the next drain counts it.
#include "agent/slurm/slurm_drain_command.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/fixture_node.h"

namespace nodehealth::slurm {
namespace {

constexpr char kConf[] = "/etc/slurm/test.conf";
constexpr char kFleet[] = "nodehealth: mpi_allreduce_bandwidth_low fleet";
constexpr char kPrefix[] = "nodehealth slurm-drain: node ";

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string NodeLine(const std::string& name, const std::string& state,
                     const std::string& reason = "") {
  return "NodeName=" + name + " Arch=x86_64 CoresPerSocket=1  CPUAlloc=0 CPUTot=2 " +
         "NodeHostName=" + name + " Version=22.05.8 OS=Linux 6.1.0 #1 SMP @0  State=" + state +
         " Partitions=gpu  ExtSensorsTemp=n/s" +
         (reason.empty() ? "" : " Reason=" + reason + " [root@2026-11-24T02:45:52]");
}

class SlurmDrainCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    std::filesystem::create_directories(Path("nodes"));
    const std::string nodes = Path("nodes");
    const std::string log = Path("calls.log");
    Write(Path("scontrol"),
          "#!/bin/sh\n"
          "{ printf 'SLURM_CONF=%s' \"$SLURM_CONF\"; for a in \"$@\"; do printf ' [%s]' \"$a\"; "
          "done; echo; } >> " +
              log +
              "\n"
              "nodes=" +
              nodes +
              "\n"
              "if [ \"$1\" = show ]; then\n"
              "  if [ -n \"$4\" ]; then\n"
              "    [ -f \"$nodes/$4\" ] && cat \"$nodes/$4\" && exit 0\n"
              "    echo \"Node $4 not found\" >&2; exit 1\n"
              "  fi\n"
              "  if [ -f \"$nodes/../list-fails\" ]; then echo 'Socket timed out' >&2; exit 1; fi\n"
              "  cat \"$nodes\"/*\n"
              "  exit 0\n"
              "fi\n"
              "if [ \"$1\" = update ]; then\n"
              "  if [ -f \"$nodes/../refuse\" ]; then\n"
              "    echo 'slurm_update error: Invalid user id' >&2; exit 1\n"
              "  fi\n"
              "  n=${2#NodeName=}; r=${4#Reason=}\n"
              "  line=$(sed 's/ Reason=.*//' \"$nodes/$n\")\n"
              "  state=$(printf '%s\\n' \"$line\" | sed 's/.* State=\\([^ ]*\\) .*/\\1/')\n"
              "  printf '%s Reason=%s [root@2026-12-04T05:30:00]\\n' \"$(printf '%s\\n' "
              "\"$line\" | sed \"s/ State=[^ ]* / State=$state+DRAIN /\")\" \"$r\" > "
              "\"$nodes/$n.new\"\n"
              "  mv \"$nodes/$n.new\" \"$nodes/$n\"\n"
              "  exit 0\n"
              "fi\n"
              "exit 1\n");
    ::chmod(Path("scontrol").c_str(), 0755);
    WriteConfig();
    SetNode("n1", "IDLE");
    SetNode("n2", "IDLE");
    SetNode("n3", "MIXED");
    SetNode("n4", "ALLOCATED");
  }

  void WriteConfig(const std::string& extra = "") {
    Write(Path("nodehealth.toml"), "[slurm]\nscontrol = \"" + Path("scontrol") +
                                       "\"\nslurm_conf = \"" + kConf + "\"\n" + extra);
  }
  void SetNode(const std::string& name, const std::string& state, const std::string& reason = "") {
    Write(Path("nodes/" + name), NodeLine(name, state, reason) + "\n");
  }

  int Run(const std::vector<std::string>& nodes, bool dry_run = false,
          const std::string& code = "mpi_allreduce_bandwidth_low") {
    SlurmDrainOptions options;
    options.config = Path("nodehealth.toml");
    options.code = code;
    options.dry_run = dry_run;
    options.nodes = nodes;
    std::ostringstream out;
    std::ostringstream err;
    const int status = RunSlurmDrain(options, out, err);
    out_ = out.str();
    err_ = err.str();
    return status;
  }

  // Every scontrol call since the last one, one line each: SLURM_CONF=... [arg] [arg] ...
  std::vector<std::string> TakeCalls() {
    std::vector<std::string> calls;
    {
      std::ifstream file(Path("calls.log"));
      for (std::string line; std::getline(file, line);) calls.push_back(line);
    }
    std::filesystem::remove(Path("calls.log"));
    return calls;
  }
  static std::string Call(const std::string& args) {
    return std::string("SLURM_CONF=") + kConf + " " + args;
  }
  static std::string ShowNode(const std::string& name) {
    return Call("[show] [node] [-o] [" + name + "]");
  }
  static std::string ShowAll() { return Call("[show] [node] [-o]"); }
  static std::string Drain(const std::string& name) {
    return Call("[update] [NodeName=" + name + "] [State=DRAIN] [Reason=" + kFleet + "]");
  }

  std::string NodeFile(const std::string& name) const {
    std::ifstream file(Path("nodes/" + name));
    std::string line;
    std::getline(file, line);
    return line;
  }

  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  testing::TempDir dir_;
  std::string out_;
  std::string err_;
};

const std::string kSuppressed =
    std::string(kPrefix) +
    "n3: suppressed (drain suppressed: partition gpu already has 1 of 4 nodes drained by "
    "nodehealth (limit 1); likely the fabric or a rollout, not these nodes: " +
    kFleet + ")";

TEST_F(SlurmDrainCommandTest, DrainsTheFirstSuspectAndSuppressesTheNext) {
  EXPECT_EQ(Run({"n2", "n3"}), 1);
  EXPECT_EQ(out_, std::string(kPrefix) + "n2: drain (drain recommended: " + kFleet + ")\n" +
                      kSuppressed + "\n");
  EXPECT_EQ(err_, "");
  EXPECT_EQ(TakeCalls(), (std::vector<std::string>{ShowNode("n2"), ShowAll(), Drain("n2"),
                                                   ShowNode("n3"), ShowAll()}));
  EXPECT_EQ(NodeFile("n2"),
            NodeLine("n2", "IDLE+DRAIN") + " Reason=" + kFleet + " [root@2026-12-04T05:30:00]");

  // Again: n2 is drained for this reason already; nothing is updated.
  EXPECT_EQ(Run({"n2"}), 0);
  EXPECT_EQ(out_, std::string(kPrefix) + "n2: none (already drained: " + kFleet + ")\n");
  EXPECT_EQ(TakeCalls(), std::vector<std::string>{ShowNode("n2")});
}

TEST_F(SlurmDrainCommandTest, AWiderLimitDrainsBoth) {
  WriteConfig("max_drained_fraction = 0.5\n");
  EXPECT_EQ(Run({"n2", "n3"}), 0);
  EXPECT_EQ(out_, std::string(kPrefix) + "n2: drain (drain recommended: " + kFleet + ")\n" +
                      kPrefix + "n3: drain (drain recommended: " + kFleet + ")\n");
  EXPECT_EQ(TakeCalls(), (std::vector<std::string>{ShowNode("n2"), ShowAll(), Drain("n2"),
                                                   ShowNode("n3"), ShowAll(), Drain("n3")}));
  // max_drained_nodes caps the fraction.
  SetNode("n2", "IDLE");
  SetNode("n3", "MIXED");
  WriteConfig("max_drained_fraction = 0.5\nmax_drained_nodes = 1\n");
  EXPECT_EQ(Run({"n2", "n3"}), 1);
  EXPECT_EQ(out_, std::string(kPrefix) + "n2: drain (drain recommended: " + kFleet + ")\n" +
                      kSuppressed + "\n");
}

TEST_F(SlurmDrainCommandTest, ForeignReasonIsNeverUpdated) {
  SetNode("n2", "IDLE+DRAIN", "maintenance");
  SetNode("n3", "MIXED", "maintenance");
  EXPECT_EQ(Run({"n2", "n3"}), 1);
  EXPECT_EQ(out_, std::string(kPrefix) +
                      "n2: none (reason \"maintenance\" was not set by nodehealth: left as is)\n" +
                      kPrefix +
                      "n3: none (reason \"maintenance\" was not set by nodehealth: left as is)\n");
  EXPECT_EQ(TakeCalls(), (std::vector<std::string>{ShowNode("n2"), ShowNode("n3")}));
}

TEST_F(SlurmDrainCommandTest, NodehealthsOwnOtherReasonAndOtherStatesAreLeftAsIs) {
  SetNode("n1", "IDLE+DRAIN", "nodehealth: gpu_lost gpu/0000:9b:00.0");
  SetNode("n2", "DOWN*");
  SetNode("n3", "MIXED+COMPLETING");
  EXPECT_EQ(Run({"n1", "n2", "n3"}), 1);
  EXPECT_EQ(out_, std::string(kPrefix) +
                      "n1: none (already drained by nodehealth for \"nodehealth: gpu_lost "
                      "gpu/0000:9b:00.0\": left as is)\n" +
                      kPrefix +
                      "n2: none (node state DOWN* (only IDLE, MIXED or ALLOCATED nodes are acted "
                      "on): no action)\n" +
                      kPrefix + "n3: none (node state MIXED+COMPLETING (COMPLETING): no action)\n");
  EXPECT_EQ(TakeCalls(),
            (std::vector<std::string>{ShowNode("n1"), ShowNode("n2"), ShowNode("n3")}));
}

TEST_F(SlurmDrainCommandTest, DryRunNeverUpdates) {
  // What the run would do, the drains it would have done counted: n3 is suppressed as it would be.
  EXPECT_EQ(Run({"n2", "n3"}, /*dry_run=*/true), 1);
  EXPECT_EQ(out_, std::string(kPrefix) + "n2: drain (drain recommended: " + kFleet +
                      "); dry run\n" + kSuppressed + "; dry run\n");
  EXPECT_EQ(TakeCalls(),
            (std::vector<std::string>{ShowNode("n2"), ShowAll(), ShowNode("n3"), ShowAll()}));
  EXPECT_EQ(NodeFile("n2"), NodeLine("n2", "IDLE"));

  WriteConfig("max_drained_fraction = 0.5\n");
  EXPECT_EQ(Run({"n2", "n3"}, /*dry_run=*/true), 0);
  EXPECT_EQ(out_, std::string(kPrefix) + "n2: drain (drain recommended: " + kFleet +
                      "); dry run\n" + kPrefix + "n3: drain (drain recommended: " + kFleet +
                      "); dry run\n");
  for (const std::string& call : TakeCalls()) EXPECT_EQ(call.find("[update]"), std::string::npos);
}

TEST_F(SlurmDrainCommandTest, UnknownCodeIsBadUsage) {
  EXPECT_EQ(Run({"n2"}, false, "mpi_allreduce_slow"), 2);
  EXPECT_EQ(out_, "");
  EXPECT_EQ(err_,
            "nodehealth slurm-drain: unknown finding code 'mpi_allreduce_slow' (nodehealth probes "
            "--format json lists the codes)\n");
  EXPECT_TRUE(TakeCalls().empty());
  // Another catalogue code is accepted and names the reason.
  EXPECT_EQ(Run({"n2"}, false, "ib_link_flapping"), 0);
  EXPECT_EQ(out_, std::string(kPrefix) +
                      "n2: drain (drain recommended: nodehealth: ib_link_flapping fleet)\n");
}

TEST_F(SlurmDrainCommandTest, BadNodeListsAreBadUsage) {
  EXPECT_EQ(Run({}), 2);
  EXPECT_EQ(err_, "nodehealth slurm-drain: no node given\n");
  EXPECT_EQ(Run({"n2", "n[3-4]"}), 2);
  EXPECT_EQ(err_,
            "nodehealth slurm-drain: 'n[3-4]' is not one node name (one node per argument; host "
            "lists are not expanded)\n");
  EXPECT_EQ(Run({"n2,n3"}), 2);
  EXPECT_EQ(out_, "");
  EXPECT_TRUE(TakeCalls().empty());
}

TEST_F(SlurmDrainCommandTest, UnknownNodeIsAnErrorAndTheOthersAreStillHandled) {
  EXPECT_EQ(Run({"n9", "n2"}), 2);
  EXPECT_EQ(out_, std::string(kPrefix) +
                      "n9: could not act: scontrol show node -o n9: exit 1: Node n9 not found\n" +
                      kPrefix + "n2: drain (drain recommended: " + kFleet + ")\n");
  EXPECT_EQ(TakeCalls(),
            (std::vector<std::string>{ShowNode("n9"), ShowNode("n2"), ShowAll(), Drain("n2")}));
}

TEST_F(SlurmDrainCommandTest, DuplicatesAreActedOnOnce) {
  EXPECT_EQ(Run({"n2", "n2"}), 0);
  EXPECT_EQ(out_, std::string(kPrefix) + "n2: drain (drain recommended: " + kFleet + ")\n");
  EXPECT_EQ(TakeCalls(), (std::vector<std::string>{ShowNode("n2"), ShowAll(), Drain("n2")}));
}

TEST_F(SlurmDrainCommandTest, RefusedUpdateIsAnError) {
  Write(Path("refuse"), "");
  EXPECT_EQ(Run({"n2"}), 2);
  EXPECT_EQ(out_, std::string(kPrefix) + "n2: could not act: scontrol update NodeName=n2 " +
                      "State=DRAIN Reason=" + kFleet +
                      ": exit 1: slurm_update error: Invalid user id\n");
}

TEST_F(SlurmDrainCommandTest, NeverDrainsBlind) {
  Write(Path("list-fails"), "");
  EXPECT_EQ(Run({"n2"}), 2);
  EXPECT_EQ(out_, std::string(kPrefix) +
                      "n2: could not act: cannot check the blast-radius limit: scontrol show node "
                      "-o: exit 1: Socket timed out\n");
  EXPECT_EQ(TakeCalls(), (std::vector<std::string>{ShowNode("n2"), ShowAll()}));
}

TEST_F(SlurmDrainCommandTest, ConfigErrors) {
  WriteConfig("max_drained_fraction = 2\n");
  EXPECT_EQ(Run({"n2"}), 2);
  EXPECT_EQ(err_.rfind("nodehealth slurm-drain: invalid config: ", 0), 0u) << err_;
  Write(Path("nodehealth.toml"), "[slurm]\nscontrol = \"" + Path("no-such-scontrol") + "\"\n");
  EXPECT_EQ(Run({"n2"}), 2);
  EXPECT_EQ(err_, "nodehealth slurm-drain: no scontrol (" + Path("no-such-scontrol") +
                      "): set [slurm] scontrol\n");
  EXPECT_TRUE(TakeCalls().empty());
}

}  // namespace
}  // namespace nodehealth::slurm
