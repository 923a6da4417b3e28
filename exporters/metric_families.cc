#include "exporters/metric_families.h"

#include <chrono>

#include "probes/all_probes.h"

namespace nodehealth {
namespace {

bool IsCounter(const std::string& name) { return name.ends_with("_total"); }

}  // namespace

void MetricFamilyBuilder::Add(const std::string& name, const std::string& help,
                              const MetricLabels& labels, double value,
                              std::optional<MetricType> type) {
  Family& family = families_[name];
  if (family.help.empty()) family.help = help;
  if (!family.type) family.type = type;
  family.samples[labels] = value;
}

void MetricFamilyBuilder::AddIfAbsent(const std::string& name, const std::string& help,
                                      const MetricLabels& labels, double value) {
  Family& family = families_[name];
  if (family.help.empty()) family.help = help;
  family.samples.try_emplace(labels, value);
}

std::vector<prometheus::MetricFamily> MetricFamilyBuilder::Build() const {
  std::vector<prometheus::MetricFamily> out;
  out.reserve(families_.size());
  for (const auto& [name, family] : families_) {
    prometheus::MetricFamily built;
    built.name = name;
    built.help = family.help;
    const bool counter = family.type ? *family.type == MetricType::kCounter : IsCounter(name);
    built.type = counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge;
    built.metric.reserve(family.samples.size());
    for (const auto& [labels, value] : family.samples) {
      prometheus::ClientMetric metric;
      for (const auto& [key, label_value] : labels) metric.label.push_back({key, label_value});
      if (built.type == prometheus::MetricType::Counter) {
        metric.counter.value = value;
      } else {
        metric.gauge.value = value;
      }
      built.metric.push_back(std::move(metric));
    }
    out.push_back(std::move(built));
  }
  return out;
}

void AddReportMetrics(const Report& report, MetricFamilyBuilder& f) {
  f.Add("nodehealth_build_info", "nodehealth build, value always 1", {{"version", report.version}},
        1);
  f.Add("nodehealth_drain_recommended", "1 when the node should be drained", {},
        report.drain.recommended ? 1 : 0);
  // The hardware profile is the node's SKU as nodehealth knows it: dashboards and fleet rules
  // group by it (`* on(instance, job) group_left(profile) nodehealth_profile_info`).
  if (report.profile) {
    f.Add("nodehealth_profile_info",
          "the profile (hardware SKU) the node is judged against; value always 1",
          {{"profile", *report.profile}}, 1);
  }
  const double finished =
      std::chrono::duration<double>(report.started_at.time_since_epoch()).count() +
      report.duration_seconds;
  for (const ProbeResult& probe : report.probes) {
    const MetricLabels by_probe = {{"probe", probe.name}};
    f.Add("nodehealth_probe_success", "1 when the probe decided (verdict other than error)",
          by_probe, probe.verdict == ProbeVerdict::kError ? 0 : 1);
    f.Add("nodehealth_probe_duration_seconds", "how long the probe's latest run took", by_probe,
          probe.duration.count());
    const double last_run = probe.finished_at > 0 ? probe.finished_at : finished;
    f.Add("nodehealth_probe_last_run_timestamp_seconds", "when the probe last ran (Unix time)",
          by_probe, last_run);
    for (const Finding& finding : probe.findings) {
      f.Add("nodehealth_finding", "1 while the finding is active",
            {{"probe", probe.name},
             {"code", finding.code},
             {"entity", finding.entity},
             {"action", std::string(ToString(finding.action))}},
            1);
    }
    for (const Measurement& m : probe.measurements) {
      const MeasurementSpec* spec = FindMeasurementSpec(m.name);
      if (spec == nullptr) {
        // Every probe declares what it measures (the catalogue test holds them to it); an
        // undeclared one is still exported, by the naming rule.
        f.Add("nodehealth_" + m.name, "nodehealth measurement " + m.name, m.labels, m.value);
        continue;
      }
      f.Add("nodehealth_" + m.name, spec->help, m.labels, m.value, spec->type);
    }
  }
}

}  // namespace nodehealth
