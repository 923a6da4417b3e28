// The Grafana dashboard (exporters/dashboards/nodehealth.json):
//   * its structure: valid JSON, the datasource, job and instance variables, unique panel ids,
//     every panel on the variable datasource with PromQL targets, a gridPos inside 24 columns,
//     no two panels overlapping, and exactly the panels listed below;
//   * every target's query, with the dashboard's variables replaced by concrete values, run
//     through /api/v1/query against a real Prometheus that scrapes real agents on five fixture
//     nodes and one node_exporter-style page with a burn-in textfile: each query returns the
//     expected label set, and data on the fixtures that show its fault. A query without data on
//     every fixture fails unless the table names the reason.
// Skips the Prometheus part when Prometheus is not installed (Debian package 'prometheus').
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/agent_harness.h"
#include "tests/support/prometheus_server.h"
#include "tests/support/run_command.h"

namespace nodehealth::testing {
namespace {

std::string DashboardPath() {
  return std::string(NODEHEALTH_SOURCE_DIR) + "/exporters/dashboards/nodehealth.json";
}

// The dashboard, read with a size bound; null on any failure.
json LoadDashboard() {
  std::error_code ec;
  const auto size = std::filesystem::file_size(DashboardPath(), ec);
  if (ec || size > (1u << 20)) return json();
  return json::parse(ReadFile(DashboardPath()), nullptr, /*allow_exceptions=*/false);
}

// The panels of the dashboard, rows included, in order.
std::vector<json> Panels(const json& dashboard) {
  std::vector<json> out;
  if (!dashboard.contains("panels") || !dashboard["panels"].is_array()) return out;
  for (const json& panel : dashboard["panels"]) {
    out.push_back(panel);
    if (panel.contains("panels") && panel["panels"].is_array()) {
      for (const json& inner : panel["panels"]) out.push_back(inner);  // a collapsed row's
    }
  }
  return out;
}

// The fixture agents of the query test, by short name.
inline constexpr char kHealthy[] = "healthy";       // azure-nd96isr-h100-v5, with its profile
inline constexpr char kIbDown[] = "ib_down";        // fault-ib-port-down, same profile
inline constexpr char kGpuLost[] = "gpu_lost";      // fault-gpu-lost (XID 79), observe-only
inline constexpr char kNvmlError[] = "nvml_error";  // fault-nvml-unknown-error: gpu_health fails
inline constexpr char kThermal[] = "thermal";       // fault-thermal: 92 C, slowdown at 90 C

// What one target must return. `with_data`: fleet panels: non-empty (the fixtures' agents are
// all scraped); node panels: the fixtures whose instance must give a non-empty result. `labels`:
// the exact label names of every sample (__name__ aside). `exempt`: why the query has no data
// on any fixture (then it must return an empty vector, not an error).
struct TargetExpectation {
  std::string panel;
  std::string ref_id;
  std::set<std::string> labels;
  std::vector<std::string> with_data;
  std::string exempt;
};

const std::set<std::string> kNode = {"instance", "job"};
std::set<std::string> NodeAnd(std::initializer_list<std::string> more) {
  std::set<std::string> out = kNode;
  out.insert(more.begin(), more.end());
  return out;
}

const std::vector<std::string> kAll = {kHealthy, kIbDown, kGpuLost, kNvmlError, kThermal};
constexpr char kFleet[] = "fleet";  // with_data marker for a fleet-wide query

const std::vector<TargetExpectation>& Expectations() {
  static const std::vector<TargetExpectation> table = {
      // --- Fleet overview
      {"Nodes recommended for drain", "A", {}, {kFleet}, ""},
      {"Drained nodes and their action", "A", kNode, {kFleet}, ""},
      {"Drain reasons", "A", NodeAnd({"code", "entity", "action"}), {kFleet}, ""},
      {"Active findings by code", "A", {"code", "action"}, {kFleet}, ""},
      {"XIDs by GPU", "A", {"instance", "gpu", "xid"}, {kFleet}, ""},
      {"InfiniBand ports down", "A", NodeAnd({"device", "port"}), {kFleet}, ""},
      {"Probes failing", "A", NodeAnd({"probe"}), {kFleet}, ""},
      {"InfiniBand port rate by SKU", "A", {"profile"}, {kFleet}, ""},
      {"InfiniBand port rate by SKU", "B", {"profile"}, {kFleet}, ""},
      {"NCCL all-reduce bus bandwidth by SKU",
       "A",
       {"profile", "path", "size_bytes"},
       {},
       "nccl_allreduce is an active probe: the agent runs it on SIGUSR1 or the deep-check timer "
       "only, with libnccl; the fixture agents run passive rounds with the fake NVML alone"},
      {"NCCL all-reduce bus bandwidth by SKU",
       "B",
       {"profile", "path", "size_bytes"},
       {},
       "as A: no active-probe results on the fixture agents"},
      {"GPU copy bandwidth by SKU",
       "A",
       {"profile", "direction"},
       {},
       "gpu_bandwidth is an active probe (libcuda): no result on the fixture agents"},
      {"Burn-in results (node_exporter textfile)", "A", NodeAnd({"origin"}), {kFleet}, ""},
      // --- Node drill-down ($instance)
      {"Drain action", "A", kNode, kAll, ""},
      {"Probe verdicts", "A", NodeAnd({"probe"}), kAll, ""},
      {"Probe durations", "A", NodeAnd({"probe"}), kAll, ""},
      {"Findings",
       "A",
       NodeAnd({"probe", "code", "entity", "action"}),
       {kIbDown, kGpuLost, kNvmlError},
       ""},
      {"GPU temperature", "A", NodeAnd({"gpu"}), kAll, ""},
      {"GPU temperature", "B", NodeAnd({"gpu"}), {kThermal}, ""},
      {"GPU clock events", "A", NodeAnd({"gpu", "reason"}), {kGpuLost, kThermal}, ""},
      {"GPU clock events", "B", NodeAnd({"gpu"}), kAll, ""},
      {"GPU health", "A", NodeAnd({"gpu", "type", "counter"}), kAll, ""},
      {"GPU health", "B", NodeAnd({"gpu"}), kAll, ""},
      {"GPU health", "C", NodeAnd({"gpu"}), {kHealthy, kIbDown}, ""},
      {"InfiniBand port rates", "A", NodeAnd({"device", "port"}), {kHealthy, kIbDown}, ""},
      {"InfiniBand port rates", "B", NodeAnd({"device", "port"}), {kHealthy, kIbDown}, ""},
      {"InfiniBand port traffic", "A", NodeAnd({"device", "port"}), {kHealthy, kIbDown}, ""},
      {"InfiniBand port traffic", "B", NodeAnd({"device", "port"}), {kHealthy, kIbDown}, ""},
  };
  return table;
}

// --- structure ------------------------------------------------------------------------------

TEST(DashboardTest, StructureAndVariables) {
  const json dashboard = LoadDashboard();
  ASSERT_TRUE(dashboard.is_object()) << "not valid JSON: " << DashboardPath();
  EXPECT_GE(dashboard.value("schemaVersion", 0), 38);
  EXPECT_EQ(dashboard.value("uid", ""), "nodehealth");
  EXPECT_FALSE(dashboard.value("title", "").empty());

  // Variables: the datasource (Prometheus), then job and instance queried through it.
  ASSERT_TRUE(dashboard.contains("templating") && dashboard["templating"].contains("list"));
  std::map<std::string, json> variables;
  for (const json& v : dashboard["templating"]["list"]) variables[v.value("name", "")] = v;
  ASSERT_EQ(variables.size(), 3u);
  ASSERT_TRUE(variables.count("datasource") && variables.count("job") &&
              variables.count("instance"));
  EXPECT_EQ(variables["datasource"].value("type", ""), "datasource");
  EXPECT_EQ(variables["datasource"].value("query", ""), "prometheus");
  for (const char* name : {"job", "instance"}) {
    const json& v = variables[name];
    EXPECT_EQ(v.value("type", ""), "query") << name;
    EXPECT_EQ(v["datasource"].value("uid", ""), "${datasource}") << name;
    EXPECT_NE(v.value("definition", "").find("label_values("), std::string::npos) << name;
    // The variables never offer a burn-in textfile's job or instance.
    EXPECT_NE(v.value("definition", "").find("origin!=\"burnin\""), std::string::npos) << name;
  }
  EXPECT_NE(variables["instance"].value("definition", "").find("job=~\"$job\""), std::string::npos);
}

TEST(DashboardTest, PanelsTargetsAndLayout) {
  const json dashboard = LoadDashboard();
  ASSERT_TRUE(dashboard.is_object());
  const std::vector<json> panels = Panels(dashboard);
  ASSERT_FALSE(panels.empty());

  std::set<int> ids;
  struct Box {
    std::string title;
    int x, y, w, h;
  };
  std::vector<Box> boxes;
  std::vector<std::pair<std::string, std::string>> targets;  // (title, refId)
  for (const json& panel : panels) {
    const std::string title = panel.value("title", "");
    SCOPED_TRACE(title);
    ASSERT_TRUE(panel.contains("id") && panel["id"].is_number_integer());
    EXPECT_TRUE(ids.insert(panel["id"].get<int>()).second) << "duplicate id " << panel["id"];
    ASSERT_TRUE(panel.contains("gridPos"));
    const json& grid = panel["gridPos"];
    for (const char* key : {"x", "y", "w", "h"}) {
      ASSERT_TRUE(grid.contains(key) && grid[key].is_number_integer()) << key;
    }
    Box box{title, grid["x"], grid["y"], grid["w"], grid["h"]};
    EXPECT_GE(box.x, 0);
    EXPECT_GE(box.y, 0);
    EXPECT_GT(box.w, 0);
    EXPECT_GT(box.h, 0);
    EXPECT_LE(box.x + box.w, 24);
    boxes.push_back(box);
    if (panel.value("type", "") == "row") {
      EXPECT_EQ(box.w, 24);
      continue;
    }
    EXPECT_FALSE(title.empty());
    EXPECT_FALSE(panel.value("description", "").empty());
    ASSERT_TRUE(panel.contains("datasource"));
    EXPECT_EQ(panel["datasource"].value("uid", ""), "${datasource}");
    EXPECT_EQ(panel["datasource"].value("type", ""), "prometheus");
    ASSERT_TRUE(panel.contains("targets") && panel["targets"].is_array());
    ASSERT_FALSE(panel["targets"].empty());
    std::set<std::string> refs;
    for (const json& target : panel["targets"]) {
      const std::string ref = target.value("refId", "");
      EXPECT_TRUE(refs.insert(ref).second) << "duplicate refId " << ref;
      EXPECT_FALSE(target.value("expr", "").empty()) << ref;
      ASSERT_TRUE(target.contains("datasource")) << ref;
      EXPECT_EQ(target["datasource"].value("uid", ""), "${datasource}") << ref;
      targets.emplace_back(title, ref);
    }
  }
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    for (std::size_t j = i + 1; j < boxes.size(); ++j) {
      const Box& a = boxes[i];
      const Box& b = boxes[j];
      const bool overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
      EXPECT_FALSE(overlap) << "'" << a.title << "' overlaps '" << b.title << "'";
    }
  }
  // Exactly the targets of the expectation table: a new panel needs its expectation.
  std::vector<std::pair<std::string, std::string>> expected;
  for (const TargetExpectation& e : Expectations()) expected.emplace_back(e.panel, e.ref_id);
  EXPECT_EQ(targets, expected);
}

// --- queries against a real Prometheus --------------------------------------------------------

// Serves one fixed exposition page on loopback (what node_exporter's textfile collector would
// re-export), to any request, until destroyed. Each connection: the request head is read with a
// deadline, the page written, the connection closed.
class StaticPageServer {
 public:
  explicit StaticPageServer(std::string page) : page_(std::move(page)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listen_fd_, 8) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~StaticPageServer() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }
  bool ok() const { return port_ > 0; }
  std::string host_port() const { return LoopbackHostPort(port_); }

 private:
  void Serve() {
    while (!done_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::string request;
      char buffer[4096];
      const auto deadline = Clock::now() + 2s;
      while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536 &&
             Clock::now() < deadline) {
        pollfd c{fd, POLLIN, 0};
        if (::poll(&c, 1, 100) <= 0) continue;
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        request.append(buffer, static_cast<std::size_t>(n));
      }
      const std::string reply =
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
          std::to_string(page_.size()) + "\r\nConnection: close\r\n\r\n" + page_;
      std::size_t sent = 0;
      while (sent < reply.size()) {
        const ssize_t n = ::send(fd, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      ::close(fd);
    }
  }

  std::string page_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> done_{false};
};

struct FixtureAgent {
  std::string name;
  std::unique_ptr<Node> node;
  std::unique_ptr<AgentDirs> dirs;
  std::unique_ptr<AgentProcess> agent;
};

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// Grafana's variables as concrete values; $job matches the five agents' jobs.
std::string Substitute(const std::string& expr, const std::string& instance) {
  std::string out = expr;
  out = Replace(out, "$__rate_interval", "1m");
  out = Replace(out, "$__interval", "15s");
  out = Replace(out, "$__range", "5m");
  out = Replace(out, "${job}", "nodehealth-.+");
  out = Replace(out, "$job", "nodehealth-.+");
  out = Replace(out, "${instance}", instance);
  out = Replace(out, "$instance", instance);
  return out;
}

std::set<std::string> LabelNames(const Sample& sample) {
  std::set<std::string> out;
  for (const auto& [key, value] : sample.labels) {
    if (key != "__name__") out.insert(key);
  }
  return out;
}

bool HasSample(const QueryResult& r, const std::map<std::string, std::string>& labels,
               double value) {
  for (const Sample& s : r.samples) {
    bool match = s.value == value;
    for (const auto& [k, v] : labels) {
      const auto it = s.labels.find(k);
      match = match && it != s.labels.end() && it->second == v;
    }
    if (match) return true;
  }
  return false;
}

class DashboardQueryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!PrometheusServer::Available()) return;
    struct Spec {
      const char* name;
      const char* scenario;
      std::vector<std::string> args;
    };
    const std::vector<Spec> specs = {
        {kHealthy, kAzureScenario, {"--profile", kAzureProfile}},
        {kIbDown, "fault-ib-port-down.toml", {"--profile", kAzureProfile}},
        {kGpuLost, "fault-gpu-lost.toml", {}},
        {kNvmlError, "fault-nvml-unknown-error.toml", {}},
        {kThermal, "fault-thermal.toml", {}},
    };
    for (const Spec& spec : specs) {
      auto fixture = std::make_unique<FixtureAgent>();
      fixture->name = spec.name;
      fixture->node = std::make_unique<Node>(spec.scenario);
      fixture->dirs = std::make_unique<AgentDirs>();
      fixture->agent = std::make_unique<AgentProcess>(*fixture->node, fixture->dirs->state(),
                                                      fixture->dirs->config(), spec.args);
      agents_.push_back(std::move(fixture));
    }
    // The burn-in of the GPU-lost node, written as its systemd unit writes it.
    burnin_dir_ = std::make_unique<ScopedTempDir>("nodehealth-dashboard-burnin");
    const FixtureAgent& lost = *agents_[2];
    burnin_ =
        RunCommand({NODEHEALTH_BINARY, "burnin", "--sysroot", lost.node->root(), "--nvml-library",
                    NODEHEALTH_FAKE_NVML_LIBRARY, "--only", "gpu_presence,gpu_xid", "--format",
                    "json", "--config", lost.dirs->config(), "--textfile", burnin_dir_->path()},
                   {{"NODEHEALTH_FAKE_NVML", lost.node->scenario()}}, 60s);
    textfile_ = ReadFile(burnin_dir_->path() + "/nodehealth_burnin_report.prom");
    page_ = std::make_unique<StaticPageServer>(textfile_);

    PrometheusOptions options;
    for (const auto& fixture : agents_) {
      if (fixture->agent->ok()) {
        options.targets.push_back({"nodehealth-" + fixture->name, fixture->agent->host_port()});
      }
    }
    if (page_->ok()) options.targets.push_back({"node", page_->host_port()});
    prometheus_ = std::make_unique<PrometheusServer>(options);
  }
  static void TearDownTestSuite() {
    prometheus_.reset();
    page_.reset();
    for (auto& fixture : agents_) {
      if (fixture->agent && fixture->agent->ok()) fixture->agent->Stop();
    }
    agents_.clear();
    burnin_dir_.reset();
  }
  void SetUp() override {
    if (!PrometheusServer::Available()) {
      GTEST_SKIP() << "Prometheus is not installed (" << kPrometheusBinary
                   << "; Debian package 'prometheus')";
    }
    for (const auto& fixture : agents_) {
      ASSERT_TRUE(fixture->agent->ok()) << fixture->name << ": " << fixture->agent->error();
    }
    ASSERT_EQ(burnin_.exit_code, 1) << "the GPU-lost burn-in recommends draining\n" << burnin_.err;
    ASSERT_TRUE(page_->ok());
    ASSERT_TRUE(prometheus_->ok()) << prometheus_->error();
  }
  static std::string Instance(const std::string& name) {
    for (const auto& fixture : agents_) {
      if (fixture->name == name) return fixture->agent->host_port();
    }
    return "";
  }
  // Waits until every target is up and each agent's first round is in Prometheus, plus two
  // scrapes for rate() over the agents' counters.
  static bool WaitForData(std::string* why) {
    static bool ready = false;
    if (ready) return true;
    for (const auto& fixture : agents_) {
      if (!prometheus_->WaitForTargetHealth("nodehealth-" + fixture->name, "up", 20s)) {
        *why = fixture->name + " not up";
        return false;
      }
    }
    if (!prometheus_->WaitForTargetHealth("node", "up", 20s)) {
      *why = "the textfile page is not up";
      return false;
    }
    const QueryResult rounds = prometheus_->WaitForQuery(
        "count(count_over_time(nodehealth_drain_action_level{job=~\"nodehealth-.+\"}[1m]) >= 3)",
        [](const std::vector<Sample>& s) { return s.size() == 1 && s[0].value == 5; }, 30s);
    if (!rounds.ok()) {
      *why = rounds.error;
      return false;
    }
    ready = true;
    return true;
  }

  static std::vector<std::unique_ptr<FixtureAgent>> agents_;
  static std::unique_ptr<ScopedTempDir> burnin_dir_;
  static CommandResult burnin_;
  static std::string textfile_;
  static std::unique_ptr<StaticPageServer> page_;
  static std::unique_ptr<PrometheusServer> prometheus_;
};
std::vector<std::unique_ptr<FixtureAgent>> DashboardQueryTest::agents_;
std::unique_ptr<ScopedTempDir> DashboardQueryTest::burnin_dir_;
CommandResult DashboardQueryTest::burnin_;
std::string DashboardQueryTest::textfile_;
std::unique_ptr<StaticPageServer> DashboardQueryTest::page_;
std::unique_ptr<PrometheusServer> DashboardQueryTest::prometheus_;

TEST_F(DashboardQueryTest, EveryPanelQueryReturnsItsShape) {
  std::string why;
  ASSERT_TRUE(WaitForData(&why)) << why << "\n" << prometheus_->LogTail();
  const json dashboard = LoadDashboard();
  ASSERT_TRUE(dashboard.is_object());
  std::map<std::pair<std::string, std::string>, std::string> exprs;
  for (const json& panel : Panels(dashboard)) {
    if (!panel.contains("targets")) continue;
    for (const json& target : panel["targets"]) {
      exprs[{panel.value("title", ""), target.value("refId", "")}] = target.value("expr", "");
    }
  }
  for (const TargetExpectation& e : Expectations()) {
    SCOPED_TRACE(e.panel + " / " + e.ref_id);
    const auto it = exprs.find({e.panel, e.ref_id});
    ASSERT_NE(it, exprs.end());
    const bool fleet = it->second.find("$instance") == std::string::npos;
    std::vector<std::string> scopes = fleet ? std::vector<std::string>{kFleet} : kAll;
    bool any_data = false;
    for (const std::string& scope : scopes) {
      const std::string promql =
          Substitute(it->second, fleet ? std::string("none") : Instance(scope));
      const QueryResult r = prometheus_->Query(promql);
      ASSERT_TRUE(r.ok()) << promql << ": " << r.error;
      for (const Sample& s : r.samples) {
        EXPECT_EQ(LabelNames(s), e.labels) << scope << ": " << promql << "\n"
                                           << DescribeSamples(r.samples);
        if (!fleet) {
          EXPECT_EQ(s.labels.at("instance"), Instance(scope)) << promql;
        }
      }
      const bool wanted =
          std::find(e.with_data.begin(), e.with_data.end(), scope) != e.with_data.end();
      if (wanted) {
        EXPECT_FALSE(r.samples.empty()) << scope << " has no data: " << promql;
      }
      any_data = any_data || !r.samples.empty();
    }
    if (e.exempt.empty()) {
      EXPECT_TRUE(any_data) << "no data on any fixture: " << it->second;
    } else {
      EXPECT_FALSE(any_data) << "listed as without data (" << e.exempt << ") but has some";
    }
  }
}

// What the fleet panels say about the fixtures, value by value.
TEST_F(DashboardQueryTest, FleetPanelsNameTheFaultyNodes) {
  std::string why;
  ASSERT_TRUE(WaitForData(&why)) << why;
  const json dashboard = LoadDashboard();
  std::map<std::string, std::string> expr;  // title/ref -> substituted query
  for (const json& panel : Panels(dashboard)) {
    if (!panel.contains("targets")) continue;
    for (const json& target : panel["targets"]) {
      expr[panel.value("title", "") + "/" + target.value("refId", "")] =
          Substitute(target.value("expr", ""), "none");
    }
  }
  auto query = [&](const std::string& key) {
    const QueryResult r = prometheus_->Query(expr[key]);
    EXPECT_TRUE(r.ok()) << key << ": " << r.error;
    return r;
  };
  const std::string lost = Instance(kGpuLost);
  const std::string ib_down = Instance(kIbDown);
  const std::string nvml_error = Instance(kNvmlError);

  // Three of the five agents drain; the burn-in's own 1 is not counted a second time.
  QueryResult r = query("Nodes recommended for drain/A");
  ASSERT_EQ(r.samples.size(), 1u) << DescribeSamples(r.samples);
  EXPECT_EQ(r.samples[0].value, 3);
  r = query("Drained nodes and their action/A");
  EXPECT_EQ(r.samples.size(), 3u) << DescribeSamples(r.samples);
  EXPECT_TRUE(HasSample(r, {{"instance", lost}}, 4)) << DescribeSamples(r.samples);  // reboot
  r = query("Drain reasons/A");
  EXPECT_TRUE(
      HasSample(r, {{"instance", lost}, {"code", "gpu_lost"}, {"entity", "gpu/0000:9b:00.0"}}, 1))
      << DescribeSamples(r.samples);
  EXPECT_TRUE(HasSample(r, {{"instance", ib_down}, {"code", "ib_port_down"}}, 1))
      << DescribeSamples(r.samples);
  r = query("Active findings by code/A");
  EXPECT_TRUE(HasSample(r, {{"code", "gpu_lost"}, {"action", "reboot"}}, 1))
      << DescribeSamples(r.samples);
  r = query("XIDs by GPU/A");
  ASSERT_EQ(r.samples.size(), 1u) << DescribeSamples(r.samples);
  EXPECT_TRUE(HasSample(r, {{"instance", lost}, {"gpu", "0000:9b:00.0"}, {"xid", "79"}}, 1));
  r = query("InfiniBand ports down/A");
  ASSERT_EQ(r.samples.size(), 1u) << DescribeSamples(r.samples);
  EXPECT_TRUE(HasSample(r, {{"instance", ib_down}, {"device", "mlx5_ib3"}, {"port", "1"}}, 1));
  r = query("Probes failing/A");
  ASSERT_EQ(r.samples.size(), 1u) << DescribeSamples(r.samples);
  EXPECT_TRUE(HasSample(r, {{"instance", nvml_error}, {"probe", "gpu_health"}}, 0));
  // Both agents of the Azure profile: NDR, 400 Gb/s = 50 GB/s on every ACTIVE rail.
  r = query("InfiniBand port rate by SKU/A");
  ASSERT_EQ(r.samples.size(), 1u) << DescribeSamples(r.samples);
  EXPECT_TRUE(HasSample(r, {{"profile", kAzureProfile}}, 50e9)) << DescribeSamples(r.samples);
  // The burn-in textfile: its own panel, origin="burnin", job "node".
  r = query("Burn-in results (node_exporter textfile)/A");
  ASSERT_EQ(r.samples.size(), 1u) << DescribeSamples(r.samples);
  EXPECT_TRUE(HasSample(r, {{"job", "node"}, {"origin", "burnin"}}, 1));
  // The page really carries the burn-in's findings: without origin!="burnin" and the job
  // matcher, the GPU-lost node would count twice.
  const QueryResult twice = prometheus_->Query("count(nodehealth_finding{code=\"gpu_lost\"})");
  ASSERT_TRUE(twice.ok());
  ASSERT_EQ(twice.samples.size(), 1u);
  EXPECT_EQ(twice.samples[0].value, 2);
}

}  // namespace
}  // namespace nodehealth::testing
