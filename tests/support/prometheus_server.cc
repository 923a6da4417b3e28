#include "tests/support/prometheus_server.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/http_client.h"

namespace nodehealth::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using Json = nlohmann::json;

bool Executable(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0 && S_ISREG(st.st_mode) && ::access(path, X_OK) == 0;
}

milliseconds Left(Clock::time_point deadline) {
  return std::max(milliseconds(0),
                  std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

// A duration as Prometheus's configuration writes it: "1s", "1500ms".
std::string PromDuration(milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

// A YAML double-quoted scalar (JSON's string syntax is valid YAML).
std::string Quoted(const std::string& s) { return Json(s).dump(); }

std::string StringField(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// [timestamp, "value"] -> value; false when malformed.
bool ParsePoint(const Json& point, double& value) {
  if (!point.is_array() || point.size() != 2 || !point[1].is_string()) return false;
  const std::string text = point[1].get<std::string>();
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);  // accepts NaN, +Inf, -Inf
  return end != text.c_str() && *end == '\0';
}

// The JSON body of an API answer, or an error naming what came back instead.
bool ApiData(const HttpResponse& response, Json& data, std::string& error) {
  if (!response.ok()) {
    error = "HTTP request failed: " + response.error;
    return false;
  }
  const Json body = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    error =
        "HTTP " + std::to_string(response.status) + ", not JSON: " + response.body.substr(0, 500);
    return false;
  }
  if (StringField(body, "status") != "success") {
    error = StringField(body, "errorType") + ": " + StringField(body, "error");
    if (error == ": ") error = "HTTP " + std::to_string(response.status) + ": " + body.dump();
    return false;
  }
  const auto it = body.find("data");
  if (it == body.end()) {
    error = "no data in " + body.dump();
    return false;
  }
  data = *it;
  return true;
}

}  // namespace

bool PrometheusServer::Available() { return Executable(kPrometheusBinary); }

bool PromtoolAvailable() { return Executable(kPromtoolBinary); }

PrometheusServer::PrometheusServer(PrometheusOptions options) : options_(std::move(options)) {
  if (!Available()) {
    error_ = std::string("Prometheus not installed (") + kPrometheusBinary +
             "); Debian package 'prometheus'";
    return;
  }
  if (dir_.path().empty()) {
    error_ = "cannot create a temporary directory";
    return;
  }
  config_path_ = dir_.path() + "/prometheus.yml";
  // A port picked here may be taken by someone else before Prometheus binds it: try again with
  // another one. A caller-chosen port (self-scrape) gets one attempt.
  const int attempts = options_.listen_port > 0 ? 1 : 3;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    error_.clear();
    port_ = options_.listen_port > 0 ? options_.listen_port : FreeLoopbackPort();
    if (port_ <= 0) {
      error_ = "no free loopback port";
      return;
    }
    std::string why;
    if (!WriteConfig(why)) {
      error_ = why;
      return;
    }
    const std::string data_dir = dir_.path() + "/data-" + std::to_string(attempt);
    std::vector<std::string> argv = {
        kPrometheusBinary,
        "--config.file=" + config_path_,
        "--storage.tsdb.path=" + data_dir,
        "--web.listen-address=" + host_port(),
    };
    argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
    process_ = std::make_unique<BackgroundProcess>(argv);
    if (!process_->started()) {
      error_ = process_->error();
      return;
    }
    const Clock::time_point deadline = Clock::now() + options_.ready_timeout;
    while (true) {
      if (!process_->Running()) {
        error_ = "Prometheus exited with status " + std::to_string(process_->Stop()) +
                 " before it was ready\n" + LogTail();
        break;
      }
      const HttpResponse ready =
          HttpGet(host_port(), "/-/ready", std::min(Left(deadline), milliseconds(1000)));
      if (ready.ok() && ready.status == 200) return;
      if (Left(deadline).count() == 0) {
        error_ =
            "Prometheus not ready within " + std::to_string(options_.ready_timeout.count()) +
            " ms (last: " + (ready.ok() ? "HTTP " + std::to_string(ready.status) : ready.error) +
            ")\n" + LogTail();
        process_->Stop();
        return;
      }
      std::this_thread::sleep_for(std::min(Left(deadline), milliseconds(25)));
    }
    if (process_->Stderr().find("address already in use") == std::string::npos) return;
  }
}

PrometheusServer::~PrometheusServer() {
  if (process_) process_->Stop(std::chrono::seconds(5));
}

std::string PrometheusServer::host_port() const { return LoopbackHostPort(port_); }

std::string PrometheusServer::LogTail(std::size_t max_bytes) const {
  if (!process_) return "(Prometheus was not started)";
  return process_->OutputTail(max_bytes);
}

bool PrometheusServer::WriteConfig(std::string& why) const {
  const milliseconds timeout =
      options_.scrape_timeout.count() > 0 ? options_.scrape_timeout : options_.scrape_interval;
  std::ostringstream yml;
  yml << "# Written by nodehealth's end-to-end test harness (tests/support/prometheus_server.cc).\n"
      << "global:\n"
      << "  scrape_interval: " << PromDuration(options_.scrape_interval) << "\n"
      << "  scrape_timeout: " << PromDuration(timeout) << "\n"
      << "  evaluation_interval: " << PromDuration(options_.scrape_interval) << "\n"
      << "scrape_configs:" << (options_.targets.empty() ? " []\n" : "\n");
  for (const ScrapeTarget& target : options_.targets) {
    yml << "  - job_name: " << Quoted(target.job_name) << "\n"
        << "    metrics_path: " << Quoted(target.metrics_path) << "\n"
        << "    scheme: " << Quoted(target.scheme) << "\n";
    if (!target.ca_file.empty() || !target.cert_file.empty() || !target.server_name.empty()) {
      yml << "    tls_config:\n";
      if (!target.ca_file.empty()) yml << "      ca_file: " << Quoted(target.ca_file) << "\n";
      if (!target.cert_file.empty()) {
        yml << "      cert_file: " << Quoted(target.cert_file) << "\n"
            << "      key_file: " << Quoted(target.key_file) << "\n";
      }
      if (!target.server_name.empty()) {
        yml << "      server_name: " << Quoted(target.server_name) << "\n";
      }
    }
    if (!target.username.empty()) {
      yml << "    basic_auth:\n"
          << "      username: " << Quoted(target.username) << "\n"
          << "      password: " << Quoted(target.password) << "\n";
    }
    yml << "    static_configs:\n"
        << "      - targets: [" << Quoted(target.host_port) << "]\n";
  }
  const std::string temp = config_path_ + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << yml.str();
    if (!out.flush()) {
      why = "cannot write " + temp;
      return false;
    }
  }
  if (std::rename(temp.c_str(), config_path_.c_str()) != 0) {
    why = "cannot rename " + temp + " to " + config_path_;
    return false;
  }
  return true;
}

QueryResult PrometheusServer::Query(const std::string& promql, milliseconds timeout) const {
  QueryResult result;
  if (!ok()) {
    result.error = "Prometheus is not running: " + error_;
    return result;
  }
  const HttpResponse response =
      HttpGet(host_port(), "/api/v1/query?query=" + UrlEncode(promql), timeout);
  Json data;
  if (!ApiData(response, data, result.error)) return result;
  const std::string type = StringField(data, "resultType");
  const auto found = data.find("result");
  if (found == data.end()) {
    result.error = "no result in " + data.dump();
    return result;
  }
  const Json& items = *found;
  if (type == "scalar") {
    Sample sample;
    if (!ParsePoint(items, sample.value)) {
      result.error = "malformed scalar " + items.dump();
      return result;
    }
    result.samples.push_back(std::move(sample));
    return result;
  }
  if (type != "vector" || !items.is_array()) {
    result.error = "unsupported result type '" + type + "' (instant vector or scalar expected)";
    return result;
  }
  for (const Json& item : items) {
    Sample sample;
    const auto metric = item.find("metric");
    if (metric != item.end() && metric->is_object()) {
      for (const auto& [name, value] : metric->items()) {
        if (value.is_string()) sample.labels[name] = value.get<std::string>();
      }
    }
    const auto value = item.find("value");
    if (value == item.end() || !ParsePoint(*value, sample.value)) {
      result.error = "malformed sample " + item.dump();
      result.samples.clear();
      return result;
    }
    result.samples.push_back(std::move(sample));
  }
  return result;
}

QueryResult PrometheusServer::WaitForQuery(
    const std::string& promql, const std::function<bool(const std::vector<Sample>&)>& predicate,
    milliseconds timeout) const {
  const Clock::time_point deadline = Clock::now() + timeout;
  const milliseconds pause =
      std::clamp(options_.scrape_interval / 10, milliseconds(20), milliseconds(100));
  QueryResult last;
  while (true) {
    last = Query(promql, std::clamp(Left(deadline), milliseconds(1), milliseconds(2000)));
    if (last.ok() && predicate(last.samples)) return last;
    if (Left(deadline).count() == 0 || !ok()) break;
    std::this_thread::sleep_for(std::min(Left(deadline), pause));
  }
  last.error = "timed out after " + std::to_string(timeout.count()) + " ms waiting for `" + promql +
               "`; last " +
               (last.ok() ? "result:\n" + DescribeSamples(last.samples) : "error: " + last.error);
  return last;
}

std::map<std::string, TargetStatus> PrometheusServer::Targets(std::string* error) const {
  std::map<std::string, TargetStatus> targets;
  std::string why;
  Json data;
  if (!ok()) {
    why = "Prometheus is not running: " + error_;
  } else if (ApiData(HttpGet(host_port(), "/api/v1/targets?state=active"), data, why)) {
    const auto active = data.find("activeTargets");
    if (active == data.end() || !active->is_array()) {
      why = "no activeTargets in " + data.dump();
    } else {
      for (const Json& item : *active) {
        TargetStatus status;
        const auto labels = item.find("labels");
        if (labels != item.end() && labels->is_object()) {
          status.job = StringField(*labels, "job");
          status.instance = StringField(*labels, "instance");
        }
        if (status.job.empty()) status.job = StringField(item, "scrapePool");
        status.health = StringField(item, "health");
        status.last_error = StringField(item, "lastError");
        status.scrape_url = StringField(item, "scrapeUrl");
        targets[status.job] = std::move(status);
      }
    }
  }
  if (error != nullptr) *error = why;
  return targets;
}

bool PrometheusServer::WaitForTargetHealth(const std::string& job, const std::string& health,
                                           milliseconds timeout, TargetStatus* last) const {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    const std::map<std::string, TargetStatus> targets = Targets();
    const auto it = targets.find(job);
    if (it != targets.end()) {
      if (last != nullptr) *last = it->second;
      if (it->second.health == health) return true;
    }
    if (Left(deadline).count() == 0 || !ok()) return false;
    std::this_thread::sleep_for(std::min(Left(deadline), milliseconds(50)));
  }
}

bool PrometheusServer::SetTargets(const std::vector<ScrapeTarget>& targets, milliseconds timeout,
                                  std::string* why) {
  std::string reason;
  const auto fail = [&](const std::string& text) {
    if (why != nullptr) *why = text;
    return false;
  };
  if (!ok()) return fail("Prometheus is not running: " + error_);
  options_.targets = targets;
  if (!WriteConfig(reason)) return fail(reason);
  if (!process_->Signal(SIGHUP)) return fail("cannot signal Prometheus");
  std::set<std::string> wanted;
  for (const ScrapeTarget& target : targets) wanted.insert(target.job_name);
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    std::set<std::string> jobs;
    for (const auto& [job, status] : Targets(&reason)) jobs.insert(job);
    if (reason.empty() && jobs == wanted) return true;
    if (Left(deadline).count() == 0) {
      std::string listed;
      for (const std::string& job : jobs) listed += " " + job;
      return fail("targets not reloaded within " + std::to_string(timeout.count()) +
                  " ms; active jobs:" + listed + (reason.empty() ? "" : "; " + reason) + "\n" +
                  LogTail());
    }
    std::this_thread::sleep_for(std::min(Left(deadline), milliseconds(50)));
  }
}

std::string DescribeSamples(const std::vector<Sample>& samples) {
  if (samples.empty()) return "(no samples)\n";
  std::string out;
  for (const Sample& sample : samples) {
    out += "{";
    bool first = true;
    for (const auto& [name, value] : sample.labels) {
      out += (first ? "" : ", ") + name + "=" + Quoted(value);
      first = false;
    }
    std::ostringstream number;
    number << sample.value;
    out += "} " + number.str() + "\n";
  }
  return out;
}

std::string PromtoolCheckMetrics(const std::string& metrics_text, milliseconds timeout) {
  if (!PromtoolAvailable()) {
    return std::string("promtool not available (") + kPromtoolBinary +
           "); Debian package 'prometheus'";
  }
  ScopedTempDir dir("nodehealth-promtool");
  if (dir.path().empty()) return "cannot create a temporary directory";
  const std::string input = dir.path() + "/metrics.prom";
  {
    std::ofstream out(input, std::ios::binary | std::ios::trunc);
    out << metrics_text;
    if (!out.flush()) return "cannot write " + input;
  }
  BackgroundProcess promtool({kPromtoolBinary, "check", "metrics"}, {}, input);
  if (!promtool.started()) return promtool.error();
  const std::optional<int> status = promtool.WaitExit(timeout);
  if (!status) {
    promtool.Stop();
    return "promtool did not finish within " + std::to_string(timeout.count()) + " ms";
  }
  std::string output = promtool.Stdout() + promtool.Stderr();
  if (*status != 0 && output.empty()) {
    output = "promtool exited with status " + std::to_string(*status);
  }
  return output;
}

}  // namespace nodehealth::testing
