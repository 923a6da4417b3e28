#include "agent/cli/probes_command.h"

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <ostream>

#include "probes/all_probes.h"
#include "probes/finding_catalog.h"

namespace nodehealth {

int RunProbesCommand(const std::string& requested_format, std::ostream& out) {
  std::string format = requested_format;
  if (format.empty()) format = ::isatty(STDOUT_FILENO) ? "table" : "json";
  if (format == "json") {
    nlohmann::ordered_json probes = nlohmann::ordered_json::array();
    for (const auto& probe : AllProbes()) {
      const ProbeInfo& info = probe->info();
      nlohmann::ordered_json codes = nlohmann::ordered_json::array();
      for (std::string_view code : info.codes) codes.push_back(code);
      nlohmann::ordered_json reads = nlohmann::ordered_json::array();
      for (std::string_view r : info.reads) reads.push_back(r);
      probes.push_back({{"name", info.name},
                        {"kind", ToString(info.kind)},
                        {"summary", info.summary},
                        {"reads", std::move(reads)},
                        {"codes", std::move(codes)},
                        {"timeout_seconds", info.timeout.count() / 1000.0}});
    }
    nlohmann::ordered_json catalog = nlohmann::ordered_json::array();
    for (const CatalogEntry& entry : FindingCatalog()) {
      catalog.push_back({{"code", entry.code},
                         {"severity", ToString(entry.severity)},
                         {"action", ToString(entry.action)},
                         {"meaning", entry.meaning},
                         {"remedy", entry.remedy}});
    }
    out << nlohmann::ordered_json{{"probes", std::move(probes)}, {"findings", std::move(catalog)}}
               .dump(2)
        << "\n";
    return 0;
  }
  for (const auto& probe : AllProbes()) {
    const ProbeInfo& info = probe->info();
    out << info.name << " (" << ToString(info.kind) << ")\n  " << info.summary << "\n  reads:";
    for (std::string_view r : info.reads) out << "\n    " << r;
    out << "\n  findings:";
    for (std::string_view c : info.codes) out << " " << c;
    out << "\n\n";
  }
  return 0;
}

}  // namespace nodehealth
