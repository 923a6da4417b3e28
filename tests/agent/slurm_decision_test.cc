#include "agent/slurm/slurm_decision.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/config/toml_reader.h"
#include "agent/slurm/health_view.h"
#include "agent/slurm/slurm_node.h"
#include "tests/support/test_env.h"

namespace nodehealth::slurm {
namespace {

constexpr char kGpu0[] = "gpu/0000:19:00.0";
constexpr char kGpu9b[] = "gpu/0000:9b:00.0";
constexpr char kHca0[] = "hca/mlx5_0/1";
constexpr char kHca1[] = "hca/mlx5_1/1";
constexpr char kRemap[] = "nodehealth: gpu_row_remap_pending gpu/0000:19:00.0";
constexpr char kLost[] = "nodehealth: gpu_lost gpu/0000:9b:00.0";
constexpr char kForeign[] = "bios update: set X=1";

HealthReason R(std::string code, std::string entity, Action action) {
  return HealthReason{std::move(code), std::move(entity), action};
}

ProbeOutcome P(std::string verdict, std::vector<HealthReason> findings = {}) {
  return ProbeOutcome{std::move(verdict), std::move(findings)};
}

HealthView View(std::vector<HealthReason> reasons, std::map<std::string, ProbeOutcome> probes,
                HealthView::Source source = HealthView::Source::kAgent) {
  HealthView view;
  view.source = source;
  view.drain_recommended = !reasons.empty();
  view.reasons = std::move(reasons);
  view.probes = std::move(probes);
  return view;
}

// The agent recommends draining for a pending row remap that gpu_health still reports.
HealthView Sick(HealthView::Source source = HealthView::Source::kAgent) {
  return View({R("gpu_row_remap_pending", kGpu0, Action::kResetGpu)},
              {{"gpu_health", P("fail", {R("gpu_row_remap_pending", kGpu0, Action::kResetGpu)})},
               {"gpu_presence", P("pass")}},
              source);
}

// Nothing drains; every passive probe that ran passed.
HealthView Healthy(HealthView::Source source = HealthView::Source::kAgent) {
  return View({}, {{"gpu_health", P("pass")}, {"gpu_presence", P("pass")}, {"ib_ports", P("pass")}},
              source);
}

SlurmNode Node(const std::string& state, std::string reason = "",
               std::vector<std::string> partitions = {"gpu"}, std::string name = "gpu01") {
  SlurmNode node;
  node.name = std::move(name);
  node.state = ParseNodeState(state);
  node.partitions = std::move(partitions);
  node.reason = std::move(reason);
  return node;
}

// ---- ParseHealthReport ----

constexpr char kMinimalReport[] =
    R"({"schema_version": 1, "drain": {"recommended": false, "reasons": []}, "probes": []})";

TEST(SlurmHealthViewTest, MinimalReport) {
  for (const HealthView::Source source : {HealthView::Source::kAgent, HealthView::Source::kCheck}) {
    Expected<HealthView> view = ParseHealthReport(kMinimalReport, source);
    ASSERT_TRUE(view.ok()) << view.error().message;
    EXPECT_EQ(view->source, source);
    EXPECT_FALSE(view->drain_recommended);
    EXPECT_TRUE(view->reasons.empty());
    EXPECT_TRUE(view->probes.empty());
  }
}

TEST(SlurmHealthViewTest, DrainRecommendedWithReasonsAndProbes) {
  Expected<HealthView> view = ParseHealthReport(R"({
    "schema_version": 1, "mode": "agent",
    "drain": {"recommended": true, "action": "reset_gpu", "reasons": [
      {"code": "gpu_row_remap_pending", "entity": "gpu/0000:19:00.0", "message": "m",
       "action": "reset_gpu"},
      {"code": "ib_port_down", "entity": "hca/mlx5_0/1", "action": "drain"},
      {"code": "topology_mismatch", "entity": "node"}]},
    "probes": [
      {"name": "gpu_health", "verdict": "fail", "findings": [
        {"code": "gpu_row_remap_pending", "entity": "gpu/0000:19:00.0", "action": "reset_gpu"},
        {"code": "gpu_clock_slowdown", "entity": "gpu/0000:3b:00.0", "action": "monitor"}]},
      {"name": "ib_ports", "verdict": "fail", "findings": [
        {"code": "ib_port_down", "entity": "hca/mlx5_0/1", "action": "drain"}]},
      {"name": "topology", "verdict": "skip"}],
    "policy": {"sticky": []}})",
                                                HealthView::Source::kAgent);
  ASSERT_TRUE(view.ok()) << view.error().message;
  EXPECT_TRUE(view->drain_recommended);
  ASSERT_EQ(view->reasons.size(), 3u);
  EXPECT_EQ(view->reasons[0].code, "gpu_row_remap_pending");
  EXPECT_EQ(view->reasons[0].entity, kGpu0);
  EXPECT_EQ(view->reasons[0].action, Action::kResetGpu);
  EXPECT_EQ(view->reasons[1].code, "ib_port_down");
  EXPECT_EQ(view->reasons[1].entity, kHca0);
  EXPECT_EQ(view->reasons[1].action, Action::kDrain);
  EXPECT_EQ(view->reasons[2].action, Action::kNone);  // no action given
  ASSERT_EQ(view->probes.size(), 3u);
  const ProbeOutcome& gpu = view->probes.at("gpu_health");
  EXPECT_EQ(gpu.verdict, "fail");
  ASSERT_EQ(gpu.findings.size(), 2u);
  EXPECT_EQ(gpu.findings[1].code, "gpu_clock_slowdown");
  EXPECT_EQ(gpu.findings[1].entity, "gpu/0000:3b:00.0");
  EXPECT_EQ(gpu.findings[1].action, Action::kMonitor);
  EXPECT_EQ(view->probes.at("ib_ports").findings.size(), 1u);
  EXPECT_EQ(view->probes.at("topology").verdict, "skip");
  EXPECT_TRUE(view->probes.at("topology").findings.empty());
}

TEST(SlurmHealthViewTest, GoldenCheckReports) {
  Expected<std::string> lost = ReadSmallFile(testing::GoldenDir() + "/fault-gpu-lost.json", "x");
  ASSERT_TRUE(lost.ok()) << lost.error().message;
  Expected<HealthView> view = ParseHealthReport(*lost, HealthView::Source::kCheck);
  ASSERT_TRUE(view.ok()) << view.error().message;
  EXPECT_TRUE(view->drain_recommended);
  ASSERT_EQ(view->reasons.size(), 3u);
  EXPECT_EQ(view->probes.size(), 8u);  // the passive probes, sku_inventory among them
  EXPECT_EQ(view->probes.at("gpu_health").verdict, "warn");
  EXPECT_EQ(view->probes.at("gpu_health").findings.size(), 7u);
  EXPECT_EQ(DrainReasonText(*view), "nodehealth: gpu_lost gpu/0000:9b:00.0 (+2 more)");
  // gpu_lost, gpu_xid (79) and ib_hca_missing all act on one run.
  EXPECT_EQ(DrainReasonText(OneRunView(*view, {})),
            "nodehealth: gpu_lost gpu/0000:9b:00.0 (+2 more)");

  Expected<std::string> truncated =
      ReadSmallFile(testing::GoldenDir() + "/fault-truncated-capture.json", "x");
  ASSERT_TRUE(truncated.ok()) << truncated.error().message;
  Expected<HealthView> check = ParseHealthReport(*truncated, HealthView::Source::kCheck);
  ASSERT_TRUE(check.ok()) << check.error().message;
  ASSERT_EQ(check->reasons.size(), 8u);
  EXPECT_EQ(check->reasons.back().code, "probe_error");
  // probe_error is noisy: one check run does not drain for it, the seven missing GPUs do.
  const HealthView one_run = OneRunView(*check, {});
  ASSERT_EQ(one_run.reasons.size(), 7u);
  for (const HealthReason& reason : one_run.reasons) EXPECT_EQ(reason.code, "gpu_missing");
  EXPECT_EQ(DrainReasonText(one_run), "nodehealth: gpu_missing gpu/0000:64:00.0 (+6 more)");
}

TEST(SlurmHealthViewTest, Errors) {
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "report: not JSON"},
      {"", "report: not JSON"},
      {R"({"schema_version": 1, "drain": {"recommended": tr)", "report: not JSON"},
      {"<html>502 Bad Gateway</html>", "report: not JSON"},
      {R"([1, 2])", "report: not a nodehealth report (schema_version 1)"},
      {R"({"drain": {"recommended": false, "reasons": []}, "probes": []})",
       "report: not a nodehealth report (schema_version 1)"},
      {R"({"schema_version": 2, "drain": {"recommended": false, "reasons": []}, "probes": []})",
       "report: not a nodehealth report (schema_version 1)"},
      {R"({"schema_version": "1", "drain": {"recommended": false, "reasons": []}, "probes": []})",
       "report: not a nodehealth report (schema_version 1)"},
      {R"({"schema_version": 1, "probes": []})",
       "report: drain.recommended or drain.reasons is missing"},
      {R"({"schema_version": 1, "drain": [], "probes": []})",
       "report: drain.recommended or drain.reasons is missing"},
      {R"({"schema_version": 1, "drain": {"reasons": []}, "probes": []})",
       "report: drain.recommended or drain.reasons is missing"},
      {R"({"schema_version": 1, "drain": {"recommended": "yes", "reasons": []}, "probes": []})",
       "report: drain.recommended or drain.reasons is missing"},
      {R"({"schema_version": 1, "drain": {"recommended": false}, "probes": []})",
       "report: drain.recommended or drain.reasons is missing"},
      {R"({"schema_version": 1, "drain": {"recommended": false, "reasons": {}}, "probes": []})",
       "report: drain.recommended or drain.reasons is missing"},
      {R"({"schema_version": 1, "drain": {"recommended": true, "reasons": []}, "probes": []})",
       "report: drain recommended without a reason"},
      {R"({"schema_version": 1, "drain": {"recommended": true, "reasons": [
           {"code": "gpu_lost", "entity": "gpu/0000:9b:00.0", "action": "later"}]},
           "probes": []})",
       "report: drain.reasons[0].action is not an action"},
      {R"({"schema_version": 1, "drain": {"recommended": true, "reasons": [
           {"code": "gpu_lost", "entity": "gpu/0000:9b:00.0", "action": "reboot"},
           {"code": "gpu_lost", "entity": "gpu/0000:9c:00.0", "action": 3}]},
           "probes": []})",
       "report: drain.reasons[1].action is not an action"},
      {R"({"schema_version": 1, "drain": {"recommended": true, "reasons": [
           {"code": "gpu_lost", "action": "reboot"}]}, "probes": []})",
       "report: drain.reasons[0].entity is missing or not a string"},
      {R"({"schema_version": 1, "drain": {"recommended": true, "reasons": ["gpu_lost"]},
           "probes": []})",
       "report: drain.reasons[0] is not an object"},
      {R"({"schema_version": 1, "drain": {"recommended": false, "reasons": []}})",
       "report: no probes array"},
      {R"({"schema_version": 1, "drain": {"recommended": false, "reasons": []}, "probes": {}})",
       "report: no probes array"},
      {R"({"schema_version": 1, "drain": {"recommended": false, "reasons": []},
           "probes": [{"name": "gpu_health"}]})",
       "report: probes[0].verdict is missing or not a string"},
      {R"({"schema_version": 1, "drain": {"recommended": false, "reasons": []},
           "probes": [{"verdict": "pass"}]})",
       "report: probes[0].name is missing or not a string"},
      {R"({"schema_version": 1, "drain": {"recommended": false, "reasons": []},
           "probes": [7]})",
       "report: probes[0] is not an object"},
      {R"({"schema_version": 1, "drain": {"recommended": false, "reasons": []},
           "probes": [{"name": "gpu_health", "verdict": "pass", "findings": {}}]})",
       "report: probes[0].findings is not an array"},
      {R"({"schema_version": 1, "drain": {"recommended": false, "reasons": []},
           "probes": [{"name": "a", "verdict": "pass"}, {"name": "b", "verdict": "warn",
           "findings": [{"code": "x", "entity": "node", "action": "maybe"}]}]})",
       "report: probes[1].findings[0].action is not an action"},
  };
  for (const auto& [text, error] : cases) {
    Expected<HealthView> view = ParseHealthReport(text, HealthView::Source::kAgent);
    ASSERT_FALSE(view.ok()) << text;
    EXPECT_EQ(view.error().message, error) << text;
  }
}

// ---- DrainReasonText, ParseNodehealthReason ----

TEST(SlurmReasonTest, DrainReasonText) {
  EXPECT_EQ(DrainReasonText(View({}, {})), "");
  EXPECT_EQ(DrainReasonText(View({R("gpu_lost", kGpu9b, Action::kReboot)}, {})), kLost);
  // The highest action wins whatever its place; among equals the first in report order.
  EXPECT_EQ(DrainReasonText(View(
                {R("ib_port_down", kHca0, Action::kDrain), R("gpu_xid", kGpu0, Action::kResetGpu),
                 R("gpu_row_remap_pending", kGpu0, Action::kResetGpu)},
                {})),
            "nodehealth: gpu_xid gpu/0000:19:00.0 (+2 more)");
  EXPECT_EQ(DrainReasonText(View({R("ib_port_down", kHca0, Action::kDrain),
                                  R("ib_port_down", kHca1, Action::kDrain)},
                                 {})),
            "nodehealth: ib_port_down hca/mlx5_0/1 (+1 more)");
  EXPECT_EQ(
      DrainReasonText(View(
          {R("ib_port_down", kHca0, Action::kDrain), R("gpu_lost", kGpu9b, Action::kReplace)}, {})),
      "nodehealth: gpu_lost gpu/0000:9b:00.0 (+1 more)");
}

TEST(SlurmReasonTest, ParseNodehealthReason) {
  std::optional<NodehealthReason> a = ParseNodehealthReason(kRemap);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, "gpu_row_remap_pending");
  EXPECT_EQ(a->entity, kGpu0);

  std::optional<NodehealthReason> b =
      ParseNodehealthReason("nodehealth: gpu_lost gpu/0000:9b:00.0 (+2 more)");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->code, "gpu_lost");
  EXPECT_EQ(b->entity, kGpu9b);

  std::optional<NodehealthReason> c = ParseNodehealthReason("nodehealth: probe_timeout");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->code, "probe_timeout");
  EXPECT_EQ(c->entity, "");

  // What DrainReasonText writes reads back.
  const HealthView view =
      View({R("ib_port_down", kHca0, Action::kDrain), R("gpu_lost", kGpu9b, Action::kReboot)}, {});
  std::optional<NodehealthReason> d = ParseNodehealthReason(DrainReasonText(view));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->code, "gpu_lost");
  EXPECT_EQ(d->entity, kGpu9b);

  for (const char* foreign : {kForeign, "", "nodehealth:", "nodehealth: ", "nodehealth:gpu_lost x",
                              "Nodehealth: gpu_lost x", "NHC: check_gpu failed"}) {
    EXPECT_EQ(ParseNodehealthReason(foreign), std::nullopt) << foreign;
  }
}

// ---- FailedProbePassesAgain ----

TEST(SlurmResumeTest, OwnerPassesAgain) {
  std::string why;
  const NodehealthReason remap{"gpu_row_remap_pending", kGpu0};
  EXPECT_TRUE(FailedProbePassesAgain(Healthy(), remap, why));
  EXPECT_EQ(why, "gpu_health passed again");

  // warn passes too, as long as the failed finding is gone.
  const HealthView warn =
      View({}, {{"gpu_health", P("warn", {R("gpu_clock_slowdown", kGpu0, Action::kMonitor)})}});
  EXPECT_TRUE(FailedProbePassesAgain(warn, remap, why));
  EXPECT_EQ(why, "gpu_health passed again");

  // A code two probes declare: each that ran must have passed.
  const NodehealthReason lost{"gpu_lost", kGpu9b};
  EXPECT_TRUE(FailedProbePassesAgain(Healthy(), lost, why));
  EXPECT_EQ(why, "gpu_health, gpu_presence passed again");
  EXPECT_TRUE(FailedProbePassesAgain(View({}, {{"gpu_presence", P("pass")}}), lost, why));
  EXPECT_EQ(why, "gpu_presence passed again");
  EXPECT_FALSE(FailedProbePassesAgain(
      View({}, {{"gpu_presence", P("pass")}, {"gpu_health", P("error")}}), lost, why));
  EXPECT_EQ(why, "waiting for gpu_health (error) to pass again");
}

TEST(SlurmResumeTest, FindingStillPresent) {
  std::string why;
  const NodehealthReason remap{"gpu_row_remap_pending", kGpu0};
  // Still reported, even at a lower action (an override) or by a probe that passes.
  EXPECT_FALSE(FailedProbePassesAgain(Sick(), remap, why));
  EXPECT_EQ(why, "gpu_health still reports gpu_row_remap_pending gpu/0000:19:00.0");
  const HealthView monitored =
      View({}, {{"gpu_health", P("warn", {R("gpu_row_remap_pending", kGpu0, Action::kMonitor)})}});
  EXPECT_FALSE(FailedProbePassesAgain(monitored, remap, why));
  EXPECT_EQ(why, "gpu_health still reports gpu_row_remap_pending gpu/0000:19:00.0");

  // The same code on another GPU is not the failed finding, but its probe has not passed.
  const HealthView other_gpu =
      View({}, {{"gpu_health",
                 P("fail", {R("gpu_row_remap_pending", "gpu/0000:3b:00.0", Action::kResetGpu)})}});
  EXPECT_FALSE(FailedProbePassesAgain(other_gpu, remap, why));
  EXPECT_EQ(why, "waiting for gpu_health (fail) to pass again");
}

TEST(SlurmResumeTest, OwnerErrorOrSkipIsNotAPass) {
  std::string why;
  const NodehealthReason remap{"gpu_row_remap_pending", kGpu0};
  EXPECT_FALSE(FailedProbePassesAgain(View({}, {{"gpu_health", P("error")}}), remap, why));
  EXPECT_EQ(why, "waiting for gpu_health (error) to pass again");
  EXPECT_FALSE(FailedProbePassesAgain(View({}, {{"gpu_health", P("skip")}}), remap, why));
  EXPECT_EQ(why, "no run of its probe has passed yet");
}

TEST(SlurmResumeTest, OwnerAbsent) {
  std::string why;
  // rdma_loopback is active: an agent that has not run it yet cannot say the port is fine.
  EXPECT_FALSE(
      FailedProbePassesAgain(Healthy(), NodehealthReason{"rdma_loopback_failed", kHca0}, why));
  EXPECT_EQ(why, "no run of rdma_loopback has passed yet");
  EXPECT_FALSE(FailedProbePassesAgain(View({}, {}), NodehealthReason{"gpu_lost", kGpu9b}, why));
  EXPECT_EQ(why, "no run of gpu_health, gpu_presence has passed yet");
}

TEST(SlurmResumeTest, ProbeTimeoutNeedsEveryProbe) {
  std::string why;
  const NodehealthReason timeout{"probe_timeout", "node"};
  const HealthView one_failing =
      View({}, {{"gpu_health", P("pass")},
                {"ib_ports", P("fail", {R("ib_port_down", kHca0, Action::kDrain)})}});
  EXPECT_FALSE(FailedProbePassesAgain(one_failing, timeout, why));
  EXPECT_EQ(why, "waiting for ib_ports (fail) to pass again");

  const HealthView all_pass =
      View({}, {{"gpu_health", P("pass")}, {"ib_ports", P("warn")}, {"topology", P("skip")}});
  EXPECT_TRUE(FailedProbePassesAgain(all_pass, timeout, why));
  EXPECT_EQ(why, "gpu_health, ib_ports passed again");

  EXPECT_TRUE(FailedProbePassesAgain(all_pass, NodehealthReason{"probe_error", "node"}, why));
  EXPECT_EQ(why, "gpu_health, ib_ports passed again");

  EXPECT_FALSE(FailedProbePassesAgain(View({}, {}), timeout, why));
  EXPECT_EQ(why, "no run of its probe has passed yet");
}

// ---- OneRunView ----

const HealthView kMixedCheck =
    View({R("gpu_lost", kGpu9b, Action::kReboot), R("ib_port_errors", kHca0, Action::kDrain),
          R("rdma_loopback_bandwidth_low", kHca1, Action::kDrain),
          R("probe_timeout", "node", Action::kDrain)},
         {{"gpu_presence", P("fail", {R("gpu_lost", kGpu9b, Action::kReboot)})},
          {"ib_ports", P("fail", {R("ib_port_errors", kHca0, Action::kDrain)})}},
         HealthView::Source::kCheck);

std::vector<std::string> Codes(const HealthView& view) {
  std::vector<std::string> codes;
  for (const HealthReason& r : view.reasons) codes.push_back(r.code + " " + r.entity);
  return codes;
}

// ---- WithXidWindowReasons ----

TEST(SlurmXidWindowTest, WindowReasonsJoinTheOneRunView) {
  const HealthView one_run = OneRunView(kMixedCheck, {});  // gpu_lost (reboot) only
  const HealthView out = WithXidWindowReasons(
      one_run, {DrainReason{"gpu_xid", kGpu0, "XID 31 ... 5 times", Action::kResetGpu},
                DrainReason{"gpu_lost", kGpu9b, "a window on the same entity", Action::kDrain}});
  // A new (code, entity) is added in severity order; a listed one keeps its stronger action.
  EXPECT_EQ(Codes(out),
            (std::vector<std::string>{"gpu_lost gpu/0000:9b:00.0", "gpu_xid gpu/0000:19:00.0"}));
  EXPECT_EQ(out.reasons[0].action, Action::kReboot);
  EXPECT_EQ(out.reasons[1].action, Action::kResetGpu);
  EXPECT_TRUE(out.drain_recommended);

  // On a healthy view, a window alone recommends the drain; one that raises a listed reason's
  // action reorders it.
  const HealthView alone =
      WithXidWindowReasons(View({}, {}, HealthView::Source::kCheck),
                           {DrainReason{"gpu_xid", kGpu0, "XID 13 ... 3 times", Action::kDrain}});
  EXPECT_TRUE(alone.drain_recommended);
  EXPECT_EQ(DrainReasonText(alone), "nodehealth: gpu_xid gpu/0000:19:00.0");
  const HealthView raised = WithXidWindowReasons(
      View({R("gpu_xid", kGpu0, Action::kDrain), R("ib_port_down", kHca0, Action::kReboot)}, {},
           HealthView::Source::kCheck),
      {DrainReason{"gpu_xid", kGpu0, "XID 48 ... 2 times", Action::kReplace}});
  EXPECT_EQ(Codes(raised),
            (std::vector<std::string>{"gpu_xid gpu/0000:19:00.0", "ib_port_down hca/mlx5_0/1"}));
  EXPECT_EQ(raised.reasons[0].action, Action::kReplace);

  const HealthView none = WithXidWindowReasons(View({}, {}, HealthView::Source::kCheck), {});
  EXPECT_FALSE(none.drain_recommended);
}

TEST(SlurmOneRunViewTest, NoisyCodesWaitHardOnesStay) {
  const HealthView out = OneRunView(kMixedCheck, {});
  ASSERT_EQ(Codes(out), std::vector<std::string>{"gpu_lost gpu/0000:9b:00.0"});
  EXPECT_TRUE(out.drain_recommended);
  EXPECT_EQ(out.reasons[0].action, Action::kReboot);
  EXPECT_EQ(out.source, HealthView::Source::kCheck);
  EXPECT_EQ(out.probes.size(), 2u);

  const HealthView noisy_only =
      OneRunView(View({R("ib_port_errors", kHca0, Action::kDrain),
                       R("rdma_loopback_bandwidth_low", kHca1, Action::kDrain),
                       R("gpu_temperature_high", kGpu0, Action::kDrain),
                       R("gpu_clock_slowdown", kGpu0, Action::kDrain),
                       R("mpi_allreduce_bandwidth_low", "node", Action::kDrain),
                       R("probe_error", "node", Action::kDrain)},
                      {}, HealthView::Source::kCheck),
                 {});
  EXPECT_TRUE(noisy_only.reasons.empty());
  EXPECT_FALSE(noisy_only.drain_recommended);
  EXPECT_EQ(DrainReasonText(noisy_only), "");
}

TEST(SlurmOneRunViewTest, RoundsOverridesBothWays) {
  agent::DrainPolicyConfig policy;
  policy.codes["ib_port_errors"].rounds = 1;  // noisy made immediate
  policy.codes["gpu_lost"].rounds = 2;        // hard made patient
  const HealthView out = OneRunView(kMixedCheck, policy);
  EXPECT_EQ(Codes(out), std::vector<std::string>{"ib_port_errors hca/mlx5_0/1"});
  EXPECT_TRUE(out.drain_recommended);

  agent::DrainPolicyConfig all_now;
  all_now.noisy_rounds = 1;
  EXPECT_EQ(
      Codes(OneRunView(kMixedCheck, all_now)),
      (std::vector<std::string>{"gpu_lost gpu/0000:9b:00.0", "ib_port_errors hca/mlx5_0/1",
                                "rdma_loopback_bandwidth_low hca/mlx5_1/1", "probe_timeout node"}));

  agent::DrainPolicyConfig none_now;
  none_now.codes["gpu_lost"].rounds = 3;
  const HealthView nothing = OneRunView(kMixedCheck, none_now);
  EXPECT_TRUE(nothing.reasons.empty());
  EXPECT_FALSE(nothing.drain_recommended);
}

TEST(SlurmOneRunViewTest, LoweredActionDropsTheReason) {
  // [drain.codes.gpu_lost] action = "monitor": the agent never drains for it, nor may the check.
  agent::DrainPolicyConfig lowered;
  lowered.codes["gpu_lost"].action = Action::kMonitor;
  const HealthView out = OneRunView(kMixedCheck, lowered);
  EXPECT_TRUE(out.reasons.empty());
  EXPECT_FALSE(out.drain_recommended);
}

TEST(SlurmOneRunViewTest, RaisedActionOrdersTheReasons) {
  agent::DrainPolicyConfig raised;
  raised.codes["ib_port_down"].action = Action::kReplace;
  const HealthView two = OneRunView(
      View({R("gpu_xid", kGpu0, Action::kResetGpu), R("ib_port_down", kHca0, Action::kDrain)}, {},
           HealthView::Source::kCheck),
      raised);
  ASSERT_EQ(Codes(two),
            (std::vector<std::string>{"ib_port_down hca/mlx5_0/1", "gpu_xid gpu/0000:19:00.0"}));
  EXPECT_EQ(two.reasons[0].action, Action::kReplace);
  EXPECT_EQ(DrainReasonText(two), "nodehealth: ib_port_down hca/mlx5_0/1 (+1 more)");
}

TEST(SlurmOneRunViewTest, RaisedActionMakesAFindingAReason) {
  // A finding the report did not list (its action was monitor) drains once an override says so,
  // unless the code is noisy and its rounds are not overridden.
  const HealthView monitored =
      View({},
           {{"gpu_driver", P("warn", {R("gpu_vbios_mismatch", kGpu0, Action::kMonitor)})},
            {"gpu_health", P("warn", {R("gpu_clock_slowdown", kGpu0, Action::kMonitor)})}},
           HealthView::Source::kCheck);
  agent::DrainPolicyConfig drain_it;
  drain_it.codes["gpu_vbios_mismatch"].action = Action::kDrain;
  drain_it.codes["gpu_clock_slowdown"].action = Action::kDrain;
  const HealthView vbios = OneRunView(monitored, drain_it);
  ASSERT_EQ(Codes(vbios), std::vector<std::string>{"gpu_vbios_mismatch gpu/0000:19:00.0"});
  EXPECT_EQ(vbios.reasons[0].action, Action::kDrain);
  EXPECT_TRUE(vbios.drain_recommended);
  drain_it.codes["gpu_clock_slowdown"].rounds = 1;
  EXPECT_EQ(Codes(OneRunView(monitored, drain_it)),
            (std::vector<std::string>{"gpu_vbios_mismatch gpu/0000:19:00.0",
                                      "gpu_clock_slowdown gpu/0000:19:00.0"}));
}

TEST(SlurmOneRunViewTest, AReasonThatIsAlsoAFindingIsListedOnce) {
  agent::DrainPolicyConfig same;
  same.codes["gpu_lost"].action = Action::kReplace;
  const HealthView once = OneRunView(kMixedCheck, same);
  ASSERT_EQ(Codes(once), std::vector<std::string>{"gpu_lost gpu/0000:9b:00.0"});
  EXPECT_EQ(once.reasons[0].action, Action::kReplace);
}

// ---- DecideSlurmAction ----

void ExpectDecision(const SlurmDecision& d, SlurmActionKind kind, const std::string& reason,
                    const std::string& why) {
  EXPECT_EQ(ToString(d.kind), ToString(kind));
  EXPECT_EQ(d.reason, reason);
  EXPECT_EQ(d.why, why);
}

TEST(SlurmDecisionTest, KindNames) {
  EXPECT_EQ(ToString(SlurmActionKind::kNone), "none");
  EXPECT_EQ(ToString(SlurmActionKind::kDrain), "drain");
  EXPECT_EQ(ToString(SlurmActionKind::kUpdateReason), "update_reason");
  EXPECT_EQ(ToString(SlurmActionKind::kResume), "resume");
  EXPECT_EQ(ToString(SlurmActionKind::kSuppressed), "suppressed");
}

TEST(SlurmDecisionTest, HealthyNodeIsLeftAlone) {
  for (const char* state : {"IDLE", "MIXED", "ALLOCATED"}) {
    ExpectDecision(DecideSlurmAction(Node(state), Healthy()), SlurmActionKind::kNone, "",
                   "healthy");
    ExpectDecision(DecideSlurmAction(Node(state), Healthy(HealthView::Source::kCheck)),
                   SlurmActionKind::kNone, "", "healthy");
  }
}

TEST(SlurmDecisionTest, DrainRecommendedDrains) {
  for (const char* state : {"IDLE", "MIXED", "ALLOCATED", "idle"}) {
    ExpectDecision(DecideSlurmAction(Node(state), Sick()), SlurmActionKind::kDrain, kRemap,
                   std::string("drain recommended: ") + kRemap);
  }
  // A one-shot check may drain (it only never resumes).
  ExpectDecision(DecideSlurmAction(Node("IDLE"), Sick(HealthView::Source::kCheck)),
                 SlurmActionKind::kDrain, kRemap, std::string("drain recommended: ") + kRemap);
  // Several reasons: the most severe, with the count of the others.
  const HealthView two =
      View({R("ib_port_down", kHca0, Action::kDrain), R("gpu_lost", kGpu9b, Action::kReboot)}, {});
  ExpectDecision(DecideSlurmAction(Node("MIXED"), two), SlurmActionKind::kDrain,
                 "nodehealth: gpu_lost gpu/0000:9b:00.0 (+1 more)",
                 "drain recommended: nodehealth: gpu_lost gpu/0000:9b:00.0 (+1 more)");
}

TEST(SlurmDecisionTest, AlreadyDrainedWithTheSameReason) {
  for (const char* state : {"IDLE+DRAIN", "MIXED+DRAIN", "ALLOCATED+DRAIN", "DRAINED"}) {
    ExpectDecision(DecideSlurmAction(Node(state, kRemap), Sick()), SlurmActionKind::kNone, kRemap,
                   std::string("already drained: ") + kRemap);
  }
}

TEST(SlurmDecisionTest, DrainedByNodehealthForAnotherReasonIsUpdated) {
  ExpectDecision(DecideSlurmAction(Node("IDLE+DRAIN", kLost), Sick()),
                 SlurmActionKind::kUpdateReason, kRemap,
                 std::string("drained by nodehealth for \"") + kLost + "\"; now " + kRemap);
  // Only the "(+N more)" count differs: the reason (and its drain time) stays.
  ExpectDecision(DecideSlurmAction(Node("MIXED+DRAIN", std::string(kRemap) + " (+1 more)"), Sick()),
                 SlurmActionKind::kNone, kRemap,
                 std::string("already drained: ") + kRemap + " (+1 more)");
  // The check's verdict updates the reason too.
  EXPECT_EQ(DecideSlurmAction(Node("IDLE+DRAIN", kLost), Sick(HealthView::Source::kCheck)).kind,
            SlurmActionKind::kUpdateReason);
}

TEST(SlurmDecisionTest, ForeignReasonIsNeverTouched) {
  const std::string why =
      std::string("reason \"") + kForeign + "\" was not set by nodehealth: left as is";
  for (const char* state : {"IDLE+DRAIN", "MIXED+DRAIN", "ALLOCATED+DRAIN"}) {
    ExpectDecision(DecideSlurmAction(Node(state, kForeign), Healthy()), SlurmActionKind::kNone, "",
                   why);
    ExpectDecision(DecideSlurmAction(Node(state, kForeign), Sick()), SlurmActionKind::kNone, "",
                   why);
    ExpectDecision(DecideSlurmAction(Node(state, kForeign), Sick(HealthView::Source::kCheck)),
                   SlurmActionKind::kNone, "", why);
  }
  // A reason left on a node that is not drained is an administrator's too.
  ExpectDecision(DecideSlurmAction(Node("IDLE", kForeign), Sick()), SlurmActionKind::kNone, "",
                 why);
  // Drained without any reason: not nodehealth's either.
  ExpectDecision(DecideSlurmAction(Node("IDLE+DRAIN", ""), Healthy()), SlurmActionKind::kNone, "",
                 "reason \"\" was not set by nodehealth: left as is");
}

TEST(SlurmDecisionTest, ResumesWhenTheAgentSaysTheFaultIsGone) {
  for (const char* state : {"IDLE+DRAIN", "MIXED+DRAIN", "ALLOCATED+DRAIN", "DRAINING"}) {
    ExpectDecision(DecideSlurmAction(Node(state, kRemap), Healthy()), SlurmActionKind::kResume, "",
                   "gpu_row_remap_pending gpu/0000:19:00.0 is gone: gpu_health passed again");
  }
  ExpectDecision(
      DecideSlurmAction(Node("IDLE+DRAIN", std::string(kLost) + " (+2 more)"), Healthy()),
      SlurmActionKind::kResume, "",
      "gpu_lost gpu/0000:9b:00.0 is gone: gpu_health, gpu_presence passed again");
}

TEST(SlurmDecisionTest, NoResumeWithoutEvidence) {
  // A one-shot check cannot see what the agent holds.
  ExpectDecision(DecideSlurmAction(Node("IDLE+DRAIN", kRemap), Healthy(HealthView::Source::kCheck)),
                 SlurmActionKind::kNone, "",
                 std::string("drained by nodehealth (\"") + kRemap +
                     "\"); only the agent can tell that the fault is gone: not resumed");
  // The owning probe has not run since.
  const std::string rdma = "nodehealth: rdma_loopback_failed hca/mlx5_0/1";
  ExpectDecision(
      DecideSlurmAction(Node("IDLE+DRAIN", rdma), Healthy()), SlurmActionKind::kNone, "",
      "drained by nodehealth (\"" + rdma + "\"): no run of rdma_loopback has passed yet");
  // The owning probe errors.
  ExpectDecision(
      DecideSlurmAction(Node("IDLE+DRAIN", kRemap), View({}, {{"gpu_health", P("error")}})),
      SlurmActionKind::kNone, "",
      std::string("drained by nodehealth (\"") + kRemap +
          "\"): waiting for gpu_health (error) to pass again");
  // The finding is still there, though below the drain threshold now.
  ExpectDecision(
      DecideSlurmAction(
          Node("IDLE+DRAIN", kRemap),
          View({},
               {{"gpu_health", P("warn", {R("gpu_row_remap_pending", kGpu0, Action::kMonitor)})}})),
      SlurmActionKind::kNone, "",
      std::string("drained by nodehealth (\"") + kRemap +
          "\"): gpu_health still reports gpu_row_remap_pending gpu/0000:19:00.0");
  // "nodehealth:" without the space is ours but unreadable.
  ExpectDecision(DecideSlurmAction(Node("IDLE+DRAIN", "nodehealth:gpu_lost"), Healthy()),
                 SlurmActionKind::kNone, "",
                 "cannot read the code in \"nodehealth:gpu_lost\": not resumed");
}

TEST(SlurmDecisionTest, TransitionalStatesAreLeftAlone) {
  const std::pair<const char*, const char*> cases[] = {
      {"IDLE+COMPLETING", "COMPLETING"},
      {"MIXED+COMPLETING", "COMPLETING"},
      {"IDLE+POWERING_UP", "POWERING_UP"},
      {"ALLOCATED#", "POWERING_UP"},
      {"IDLE+NOT_RESPONDING", "NOT_RESPONDING"},
      {"IDLE*", "NOT_RESPONDING"},
      {"MIXED+REBOOT_REQUESTED", "REBOOT_REQUESTED"},
      {"IDLE+DRAIN+REBOOT_ISSUED", "REBOOT_ISSUED"},
      {"IDLE+CLOUD+POWERED_DOWN", "POWERED_DOWN"},
      {"IDLE+FAIL", "FAIL"},
  };
  for (const auto& [state, flag] : cases) {
    const std::string why = "node state " + std::string(state) + " (" + flag + "): no action";
    ExpectDecision(DecideSlurmAction(Node(state), Sick()), SlurmActionKind::kNone, "", why);
    ExpectDecision(DecideSlurmAction(Node(state, kRemap), Healthy()), SlurmActionKind::kNone, "",
                   why);
  }
  for (const char* state :
       {"DOWN", "DOWN+DRAIN", "DOWN+DRAIN+NOT_RESPONDING", "FUTURE", "UNKNOWN"}) {
    const std::string why = "node state " + std::string(state) +
                            " (only IDLE, MIXED or ALLOCATED nodes are acted on): no action";
    ExpectDecision(DecideSlurmAction(Node(state), Sick()), SlurmActionKind::kNone, "", why);
    ExpectDecision(DecideSlurmAction(Node(state, kRemap), Healthy()), SlurmActionKind::kNone, "",
                   why);
  }
}

TEST(SlurmDecisionTest, StaleNodehealthReasonOnAnUndrainedNode) {
  ExpectDecision(DecideSlurmAction(Node("IDLE", kRemap), Healthy()), SlurmActionKind::kNone, "",
                 "healthy");
  ExpectDecision(DecideSlurmAction(Node("IDLE", kLost), Sick()), SlurmActionKind::kDrain, kRemap,
                 std::string("drain recommended: ") + kRemap);
}

// ---- A fault found across nodes: the entity "fleet" ----

constexpr char kFleet[] = "nodehealth: mpi_allreduce_bandwidth_low fleet";

TEST(SlurmFleetReasonTest, Text) {
  EXPECT_EQ(kFleetEntity, "fleet");
  EXPECT_EQ(FleetReasonText("mpi_allreduce_bandwidth_low"), kFleet);
  EXPECT_EQ(FleetReasonText("ib_link_flapping"), "nodehealth: ib_link_flapping fleet");
  const std::optional<NodehealthReason> parsed = ParseNodehealthReason(kFleet);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->code, "mpi_allreduce_bandwidth_low");
  EXPECT_EQ(parsed->entity, "fleet");
}

TEST(SlurmFleetReasonTest, IsDrainedFor) {
  EXPECT_TRUE(IsDrainedFor(Node("IDLE+DRAIN", kFleet), kFleet));
  EXPECT_TRUE(IsDrainedFor(Node("MIXED+DRAIN", kFleet), kFleet));
  EXPECT_TRUE(IsDrainedFor(Node("DRAINED", std::string(kFleet) + " (+1 more)"), kFleet));
  EXPECT_FALSE(IsDrainedFor(Node("IDLE", kFleet), kFleet));  // a reason left on a resumed node
  EXPECT_FALSE(IsDrainedFor(Node("IDLE+DRAIN", kRemap), kFleet));
  EXPECT_FALSE(IsDrainedFor(Node("IDLE+DRAIN", "nodehealth: mpi_allreduce_failed fleet"), kFleet));
  EXPECT_FALSE(IsDrainedFor(Node("IDLE+DRAIN", kForeign), kFleet));
}

TEST(SlurmFleetDrainTest, IdleNodeIsDrainedWithTheFleetReason) {
  for (const char* state : {"IDLE", "MIXED", "ALLOCATED"}) {
    ExpectDecision(DecideFleetDrain(Node(state), kFleet), SlurmActionKind::kDrain, kFleet,
                   "drain recommended: nodehealth: mpi_allreduce_bandwidth_low fleet");
  }
  // A nodehealth reason left on a node that is no longer drained is stale: drained again.
  ExpectDecision(DecideFleetDrain(Node("IDLE", kRemap), kFleet), SlurmActionKind::kDrain, kFleet,
                 "drain recommended: nodehealth: mpi_allreduce_bandwidth_low fleet");
}

TEST(SlurmFleetDrainTest, ForeignReasonIsNeverOverwritten) {
  const std::string why = "reason \"bios update: set X=1\" was not set by nodehealth: left as is";
  // Drained by an administrator.
  ExpectDecision(DecideFleetDrain(Node("IDLE+DRAIN", kForeign), kFleet), SlurmActionKind::kNone, "",
                 why);
  // A reason on a node that is not drained is an administrator's too.
  ExpectDecision(DecideFleetDrain(Node("MIXED", kForeign), kFleet), SlurmActionKind::kNone, "",
                 why);
  // Drained without any reason.
  ExpectDecision(DecideFleetDrain(Node("IDLE+DRAIN", ""), kFleet), SlurmActionKind::kNone, "",
                 "reason \"\" was not set by nodehealth: left as is");
}

TEST(SlurmFleetDrainTest, AlreadyDrainedForTheSameReason) {
  for (const char* state : {"IDLE+DRAIN", "MIXED+DRAIN", "DRAINED"}) {
    ExpectDecision(DecideFleetDrain(Node(state, kFleet), kFleet), SlurmActionKind::kNone, kFleet,
                   "already drained: nodehealth: mpi_allreduce_bandwidth_low fleet");
  }
}

TEST(SlurmFleetDrainTest, DrainedByNodehealthForAnotherReasonIsLeftAsIs) {
  ExpectDecision(DecideFleetDrain(Node("IDLE+DRAIN", kRemap), kFleet), SlurmActionKind::kNone,
                 kFleet,
                 "already drained by nodehealth for \"nodehealth: gpu_row_remap_pending "
                 "gpu/0000:19:00.0\": left as is");
  ExpectDecision(
      DecideFleetDrain(Node("MIXED+DRAIN", "nodehealth: mpi_allreduce_failed fleet"), kFleet),
      SlurmActionKind::kNone, kFleet,
      "already drained by nodehealth for \"nodehealth: mpi_allreduce_failed fleet\": left as is");
}

TEST(SlurmFleetDrainTest, StatesNodehealthDoesNotActOn) {
  ExpectDecision(DecideFleetDrain(Node("DOWN*"), kFleet), SlurmActionKind::kNone, "",
                 "node state DOWN* (only IDLE, MIXED or ALLOCATED nodes are acted on): no action");
  ExpectDecision(DecideFleetDrain(Node("IDLE+NOT_RESPONDING"), kFleet), SlurmActionKind::kNone, "",
                 "node state IDLE+NOT_RESPONDING (NOT_RESPONDING): no action");
  ExpectDecision(DecideFleetDrain(Node("IDLE*"), kFleet), SlurmActionKind::kNone, "",
                 "node state IDLE* (NOT_RESPONDING): no action");
  ExpectDecision(DecideFleetDrain(Node("MIXED+COMPLETING"), kFleet), SlurmActionKind::kNone, "",
                 "node state MIXED+COMPLETING (COMPLETING): no action");
  ExpectDecision(DecideFleetDrain(Node("ALLOCATED+COMPLETING", kForeign), kFleet),
                 SlurmActionKind::kNone, "",
                 "node state ALLOCATED+COMPLETING (COMPLETING): no action");
}

TEST(SlurmDecisionTest, FleetDrainIsNeverResumedByThePerNodeCheck) {
  const std::string why =
      "drained by nodehealth for a fault found across nodes (\"nodehealth: "
      "mpi_allreduce_bandwidth_low fleet\"); resume it by hand after the repair: scontrol update "
      "NodeName=gpu01 State=RESUME";
  // The agent ran mpi_allreduce and it passed: on this node alone, which says nothing of the
  // pair it was slow with.
  const HealthView passed = View(
      {}, {{"mpi_allreduce", P("pass")}, {"gpu_health", P("pass")}, {"gpu_presence", P("pass")}});
  for (const char* state : {"IDLE+DRAIN", "MIXED+DRAIN", "DRAINED"}) {
    ExpectDecision(DecideSlurmAction(Node(state, kFleet), passed), SlurmActionKind::kNone, "", why);
    ExpectDecision(DecideSlurmAction(Node(state, kFleet), Healthy()), SlurmActionKind::kNone, "",
                   why);
    ExpectDecision(DecideSlurmAction(Node(state, kFleet), Healthy(HealthView::Source::kCheck)),
                   SlurmActionKind::kNone, "", why);
  }
  // The same code on a local entity still resumes as before.
  const std::string local = "nodehealth: mpi_allreduce_bandwidth_low node";
  EXPECT_EQ(DecideSlurmAction(Node("IDLE+DRAIN", local), passed).kind, SlurmActionKind::kResume);
}

TEST(SlurmDecisionTest, FleetDrainIsNotReplacedByALocalReason) {
  for (const char* state : {"IDLE+DRAIN", "MIXED+DRAIN"}) {
    ExpectDecision(DecideSlurmAction(Node(state, kFleet), Sick()), SlurmActionKind::kNone, kRemap,
                   "already drained: nodehealth: mpi_allreduce_bandwidth_low fleet");
    ExpectDecision(DecideSlurmAction(Node(state, kFleet), Sick(HealthView::Source::kCheck)),
                   SlurmActionKind::kNone, kRemap,
                   "already drained: nodehealth: mpi_allreduce_bandwidth_low fleet");
  }
}

// ---- BlastRadius ----

const std::string kDrainedByUs = kLost;

// gpu01..gpuN in `partition`; the listed ones drained by nodehealth.
std::vector<SlurmNode> Partition(int n, const std::set<int>& drained,
                                 const std::string& partition = "gpu",
                                 const std::string& prefix = "gpu") {
  std::vector<SlurmNode> nodes;
  for (int i = 1; i <= n; ++i) {
    const std::string name = prefix + (i < 10 ? "0" : "") + std::to_string(i);
    nodes.push_back(drained.contains(i) ? Node("IDLE+DRAIN", kDrainedByUs, {partition}, name)
                                        : Node("IDLE", "", {partition}, name));
  }
  return nodes;
}

void ExpectLoad(const std::optional<PartitionLoad>& load, const std::string& partition, int nodes,
                int drained, int limit) {
  ASSERT_TRUE(load.has_value()) << "expected " << partition << " to be full";
  EXPECT_EQ(load->partition, partition);
  EXPECT_EQ(load->nodes, nodes);
  EXPECT_EQ(load->drained_by_nodehealth, drained);
  EXPECT_EQ(load->limit, limit);
}

TEST(SlurmBlastRadiusTest, DefaultFractionAllowsOneOfFour) {
  const std::vector<SlurmNode> none = Partition(4, {});
  EXPECT_EQ(BlastRadius(none, none[0], {}), std::nullopt);
  const std::vector<SlurmNode> one = Partition(4, {2});
  ExpectLoad(BlastRadius(one, one[0], {}), "gpu", 4, 1, 1);
}

TEST(SlurmBlastRadiusTest, HalfAllowsTwoOfFour) {
  const BlastRadiusLimits half{0.5, 0};
  const std::vector<SlurmNode> one = Partition(4, {2});
  EXPECT_EQ(BlastRadius(one, one[0], half), std::nullopt);
  const std::vector<SlurmNode> two = Partition(4, {2, 3});
  ExpectLoad(BlastRadius(two, two[0], half), "gpu", 4, 2, 2);
}

TEST(SlurmBlastRadiusTest, FractionRoundsDownButNotBelowOne) {
  const BlastRadiusLimits limits{0.3, 0};
  const std::vector<SlurmNode> two = Partition(10, {2, 3});
  EXPECT_EQ(BlastRadius(two, two[0], limits), std::nullopt);  // limit 3 (0.3 * 10)
  const std::vector<SlurmNode> three = Partition(10, {2, 3, 4});
  ExpectLoad(BlastRadius(three, three[0], limits), "gpu", 10, 3, 3);
  // One node alone may always drain itself; two nodes under 10 %: still one.
  const std::vector<SlurmNode> alone = Partition(1, {});
  EXPECT_EQ(BlastRadius(alone, alone[0], {}), std::nullopt);
  const std::vector<SlurmNode> pair = Partition(2, {2});
  ExpectLoad(BlastRadius(pair, pair[0], {}), "gpu", 2, 1, 1);
  // A fraction of 1: the limit is every node, so the last one may still drain.
  const std::vector<SlurmNode> most = Partition(4, {2, 3, 4});
  EXPECT_EQ(BlastRadius(most, most[0], {1.0, 0}), std::nullopt);
  ExpectLoad(BlastRadius(most, most[0], {0.75, 0}), "gpu", 4, 3, 3);
}

TEST(SlurmBlastRadiusTest, MaxDrainedNodesCaps) {
  const std::vector<SlurmNode> one = Partition(4, {2});
  ExpectLoad(BlastRadius(one, one[0], {1.0, 1}), "gpu", 4, 1, 1);
  const std::vector<SlurmNode> two = Partition(10, {2, 3});
  ExpectLoad(BlastRadius(two, two[0], {0.5, 2}), "gpu", 10, 2, 2);
  EXPECT_EQ(BlastRadius(two, two[0], {0.5, 3}), std::nullopt);
  // The count never raises the fraction's limit.
  ExpectLoad(BlastRadius(two, two[0], {0.1, 5}), "gpu", 10, 2, 1);
}

TEST(SlurmBlastRadiusTest, TheNodeItselfIsNotCounted) {
  // gpu01 is drained by nodehealth already (an update of its reason, or a repeat).
  const std::vector<SlurmNode> self = Partition(4, {1});
  EXPECT_EQ(BlastRadius(self, self[0], {}), std::nullopt);
  const std::vector<SlurmNode> self_and_other = Partition(4, {1, 2});
  ExpectLoad(BlastRadius(self_and_other, self_and_other[0], {}), "gpu", 4, 1, 1);
}

TEST(SlurmBlastRadiusTest, WhichDrainedNodesCount) {
  std::vector<SlurmNode> nodes = Partition(4, {});
  const SlurmNode me = nodes[0];
  // Drained by an administrator, or carrying a stale nodehealth reason without a drain: no.
  nodes[1] = Node("IDLE+DRAIN", kForeign, {"gpu"}, "gpu02");
  nodes[2] = Node("IDLE", kDrainedByUs, {"gpu"}, "gpu03");
  nodes[3] = Node("DOWN", kForeign, {"gpu"}, "gpu04");
  EXPECT_EQ(BlastRadius(nodes, me, {}), std::nullopt);
  // DOWN+DRAIN (or DOWN) with a nodehealth reason: yes, nodehealth took it out.
  for (const char* state : {"DOWN+DRAIN", "DOWN+DRAIN+NOT_RESPONDING", "DOWN", "MIXED+DRAIN",
                            "DRAINED", "IDLE+DRAIN+COMPLETING"}) {
    nodes[3] = Node(state, kDrainedByUs, {"gpu"}, "gpu04");
    ExpectLoad(BlastRadius(nodes, me, {}), "gpu", 4, 1, 1);
  }
}

TEST(SlurmBlastRadiusTest, SeveralPartitions) {
  // gpu01 is in gpu (gpu01..gpu04) and debug (gpu01, dbg05..dbg07).
  std::vector<SlurmNode> nodes = Partition(4, {});
  nodes[0].partitions = {"gpu", "debug"};
  for (int i = 5; i <= 7; ++i) {
    nodes.push_back(Node("IDLE", "", {"debug"}, "dbg0" + std::to_string(i)));
  }
  EXPECT_EQ(BlastRadius(nodes, nodes[0], {}), std::nullopt);
  // Only debug is full.
  nodes[5] = Node("IDLE+DRAIN", kDrainedByUs, {"debug"}, "dbg06");
  ExpectLoad(BlastRadius(nodes, nodes[0], {}), "debug", 4, 1, 1);
  // Both are: the first of the node's partitions is the one reported.
  nodes[1] = Node("MIXED+DRAIN", kDrainedByUs, {"gpu"}, "gpu02");
  ExpectLoad(BlastRadius(nodes, nodes[0], {}), "gpu", 4, 1, 1);
  // A node in both counts in both.
  nodes[1].partitions = {"debug", "gpu"};
  nodes[5] = Node("IDLE", "", {"debug"}, "dbg06");
  ExpectLoad(BlastRadius(nodes, nodes[0], {}), "gpu", 4, 1, 1);
  nodes[0].partitions = {"debug", "gpu"};
  ExpectLoad(BlastRadius(nodes, nodes[0], {}), "debug", 5, 1, 1);
  EXPECT_EQ(BlastRadius(nodes, nodes[0], {0.5, 0}), std::nullopt);  // limits 2 and 2
}

TEST(SlurmBlastRadiusTest, NodesOutsideThePartitionAreIgnored) {
  std::vector<SlurmNode> nodes = Partition(4, {});
  const std::vector<SlurmNode> cpu = Partition(10, {1, 2, 3, 4, 5, 6, 7, 8}, "cpu", "cpu");
  nodes.insert(nodes.end(), cpu.begin(), cpu.end());
  EXPECT_EQ(BlastRadius(nodes, nodes[0], {}), std::nullopt);
  nodes[3] = Node("IDLE+DRAIN", kDrainedByUs, {"gpu"}, "gpu04");
  ExpectLoad(BlastRadius(nodes, nodes[0], {0.25, 0}), "gpu", 4, 1, 1);
  // A node in no partition has no limit.
  EXPECT_EQ(BlastRadius(nodes, Node("IDLE", "", {}, "lonely"), {}), std::nullopt);
}

}  // namespace
}  // namespace nodehealth::slurm
