#include "exporters/prometheus_text.h"

#include <chrono>
#include <cstdio>
#include <map>

namespace nodehealth {
namespace {

std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double value) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.10g", value);
  return buffer;
}

using Labels = std::map<std::string, std::string>;

class Families {
 public:
  void Add(const std::string& name, const std::string& help, const Labels& labels, double value) {
    Family& f = families_[name];
    if (f.help.empty()) f.help = help;
    f.samples[labels] = value;
  }

  std::string Render() const {
    std::string out;
    for (const auto& [name, family] : families_) {
      const bool counter = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
      out += "# HELP " + name + " " + family.help + "\n";
      out += "# TYPE " + name + (counter ? " counter\n" : " gauge\n");
      for (const auto& [labels, value] : family.samples) {
        out += name;
        if (!labels.empty()) {
          out += "{";
          bool first = true;
          for (const auto& [k, v] : labels) {
            out += (first ? "" : ",") + k + "=\"" + Escape(v) + "\"";
            first = false;
          }
          out += "}";
        }
        out += " " + Number(value) + "\n";
      }
    }
    return out;
  }

 private:
  struct Family {
    std::string help;
    std::map<Labels, double> samples;
  };
  std::map<std::string, Family> families_;
};

}  // namespace

std::string RenderPrometheusText(const Report& report) {
  Families f;
  f.Add("nodehealth_build_info", "nodehealth build, value always 1", {{"version", report.version}},
        1);
  f.Add("nodehealth_drain_recommended", "1 when the report recommends draining the node", {},
        report.drain.recommended ? 1 : 0);
  const double finished =
      std::chrono::duration<double>(report.started_at.time_since_epoch()).count() +
      report.duration_seconds;
  for (const ProbeResult& probe : report.probes) {
    const Labels by_probe = {{"probe", probe.name}};
    f.Add("nodehealth_probe_success", "1 when the probe decided (verdict other than error)",
          by_probe, probe.verdict == ProbeVerdict::kError ? 0 : 1);
    f.Add("nodehealth_probe_duration_seconds", "how long the probe ran", by_probe,
          probe.duration.count());
    f.Add("nodehealth_probe_last_run_timestamp_seconds", "when the probe last ran (Unix time)",
          by_probe, finished);
    for (const Finding& finding : probe.findings) {
      f.Add("nodehealth_finding", "1 while the finding is active",
            {{"probe", probe.name},
             {"code", finding.code},
             {"entity", finding.entity},
             {"action", std::string(ToString(finding.action))}},
            1);
    }
    for (const Measurement& m : probe.measurements) {
      f.Add("nodehealth_" + m.name, "nodehealth measurement (README: Measurements)", m.labels,
            m.value);
    }
  }
  return f.Render();
}

}  // namespace nodehealth
