#include "agent/config.h"

#include <cerrno>

#include "agent/toml_reader.h"
#include "probes/all_probes.h"
#include "probes/finding_catalog.h"

namespace nodehealth {
namespace {

std::vector<std::string> ProbeNames(const StrictTomlReader& r, const toml::node& node,
                                    const std::string& key) {
  std::vector<std::string> names = r.StringList(node, key);
  for (const std::string& name : names) {
    if (FindProbe(name) == nullptr) r.Fail(node, "\"" + key + "\": unknown probe \"" + name + "\"");
  }
  return names;
}

Config ReadConfig(const toml::table& root, const StrictTomlReader& r) {
  Config c;
  r.Walk(root, "",
         {
             {"profile", [&](auto& n, auto& k) { c.profile = r.String(n, k); }},
             {"nvml_library", [&](auto& n, auto& k) { c.nvml_library = r.String(n, k); }},
             {"topology_baseline", [&](auto& n, auto& k) { c.topology_baseline = r.String(n, k); }},
             {"mpi_allreduce",
              [&](auto& n, auto& k) {
                r.Walk(r.Table(n, k), k, {{"ranks", [&](auto& m, auto& j) {
                                             c.mpi_allreduce_ranks =
                                                 static_cast<int>(r.Integer(m, j, 1, 4096));
                                           }}});
              }},
             {"probes",
              [&](auto& n, auto& k) {
                r.Walk(r.Table(n, k), k,
                       {
                           {"only", [&](auto& m, auto& j) { c.only = ProbeNames(r, m, j); }},
                           {"skip", [&](auto& m, auto& j) { c.skip = ProbeNames(r, m, j); }},
                           {"timeout_seconds",
                            [&](auto& m, auto& j) {
                              const toml::table& t = r.Table(m, j);
                              for (const auto& [name, value] : t) {
                                const std::string key = j + "." + std::string(name.str());
                                if (FindProbe(name.str()) == nullptr) {
                                  r.Fail(value,
                                         "unknown probe \"" + std::string(name.str()) + "\"");
                                }
                                c.probe_timeout_seconds[std::string(name.str())] =
                                    r.Number(value, key, 0.01, 3600);
                              }
                            }},
                       });
              }},
             {"actions",
              [&](auto& n, auto& k) {
                for (const auto& [code, value] : r.Table(n, k)) {
                  const std::string key = k + "." + std::string(code.str());
                  if (FindCatalogEntry(code.str()) == nullptr) {
                    r.Fail(value, "unknown finding code \"" + std::string(code.str()) + "\"");
                  }
                  const std::optional<Action> action = ParseAction(r.String(value, key));
                  if (!action) {
                    r.Fail(value, "\"" + key +
                                      "\" must be one of none, monitor, drain, reset_gpu, reboot, "
                                      "replace");
                  }
                  c.action_overrides[std::string(code.str())] = *action;
                }
              }},
         });
  if (!c.only.empty() && !c.skip.empty())
    r.Fail(root, "probes.only and probes.skip exclude each other");
  return c;
}

}  // namespace

Expected<Config> ParseConfig(std::string_view text, const std::string& origin) {
  Expected<Config> config = ReadToml<Config>(text, origin, ReadConfig);
  if (config) config->path = origin;
  return config;
}

Expected<Config> LoadConfig(const std::string& path, bool optional) {
  Expected<std::string> text = ReadSmallFile(path, "config");
  if (!text) {
    if (optional && text.error().sys_errno == ENOENT) return Config{};
    return text.error();
  }
  return ParseConfig(*text, path);
}

}  // namespace nodehealth
