// What the reference in docs/ is generated from and checked against: the finding catalogue, the
// probes' declarations, the metric families of real agents on fixture nodes (the fake NVML) and
// the command line's --help texts. `nodehealth-docgen` (docgen_main.cc) writes the generated
// files; the `docs` tests (docs_test.cc) hold docs/ to the same sources.
//
// Thread safety: plain functions; ScrapeFixtureAgents starts and stops child processes.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace nodehealth::docs {

// docs/findings.md: every finding code of FindingCatalog() with its defaults.
std::string FindingsMarkdown();

// docs/probe-reference.md: every probe of AllProbes() with what it reads, its codes and its
// measurements.
std::string ProbesMarkdown();

// One metric family as documented: exposition TYPE and HELP, the unit its name ends with, and
// the label names seen or declared.
struct MetricFamilyDoc {
  std::string name;
  std::string type;  // "gauge" or "counter"
  std::string unit;  // "" for counts, states and _info gauges
  std::string help;
  std::set<std::string> labels;
  std::string probe;         // the probe that declares it, "" for the agent's and the report's own
  bool in_textfile = false;  // `burnin --textfile` writes it too (a report family)
};
using MetricFamilies = std::map<std::string, MetricFamilyDoc>;

// Parses Prometheus text exposition: # HELP, # TYPE and the label names of every sample. Families
// are merged into `into` (labels united; a family's first HELP and TYPE kept).
void AddExposition(const std::string& text, MetricFamilies& into);

// What real agents on the fixture nodes served: /metrics families (two scrapes each) and /report
// bodies. `error` is set when an agent could not be started or did not answer.
struct Scrape {
  MetricFamilies families;
  std::map<std::string, std::string> reports;  // scenario file -> /report JSON
  std::string error;
};
// The binary and the fake NVML are the build's (NODEHEALTH_BINARY, NODEHEALTH_FAKE_NVML_LIBRARY).
Scrape ScrapeFixtureAgents();

// docs/metrics.md: the scraped families united with every probe's declared measurements.
std::string MetricsMarkdown(const MetricFamilies& scraped);

// Reads back the families docs/metrics.md documents (MetricsMarkdown's format).
MetricFamilies ParseMetricsMarkdown(const std::string& markdown);

// docs/commands.md: `nodehealth --help` and `nodehealth <command> --help` for every command (and
// nested command), run with `binary`. `error` is set when a --help run failed.
std::string CommandsMarkdown(const std::string& binary, std::string* error);

// The fixture scenarios the metrics and report checks run agents on.
const std::vector<std::string>& DocScenarios();

}  // namespace nodehealth::docs
