#include "agent/config/config.h"

#include <cerrno>
#include <charconv>
#include <initializer_list>

#include "agent/config/endpoint_policy.h"
#include "agent/config/toml_reader.h"
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

constexpr double kDay = 24 * 3600;

std::vector<std::string> ActiveProbeNames(const StrictTomlReader& r, const toml::node& node,
                                          const std::string& key) {
  std::vector<std::string> names = ProbeNames(r, node, key);
  for (const std::string& name : names) {
    // Passive probes already run every interval; scheduling them again would only add load.
    if (FindProbe(name)->info().kind != ProbeKind::kActive) {
      r.Fail(node, "\"" + key + "\": \"" + name + "\" is not an active probe");
    }
  }
  return names;
}

Action ReadAction(const StrictTomlReader& r, const toml::node& node, const std::string& key) {
  const std::optional<Action> action = ParseAction(r.String(node, key));
  if (!action) {
    r.Fail(node, "\"" + key + "\" must be one of none, monitor, drain, reset_gpu, reboot, replace");
  }
  return *action;
}

void ReadAgent(const StrictTomlReader& r, const toml::table& table, const std::string& prefix,
               AgentSettings& a) {
  r.Walk(
      table, prefix,
      {
          {"listen", [&](auto& n, auto& k) { a.listen = r.String(n, k); }},
          {"interval_seconds",
           [&](auto& n, auto& k) { a.interval_seconds = r.Number(n, k, 1, kDay); }},
          {"jitter", [&](auto& n, auto& k) { a.jitter_fraction = r.Number(n, k, 0, 0.5); }},
          {"active_probes", [&](auto& n, auto& k) { a.active_probes = ActiveProbeNames(r, n, k); }},
          {"active_interval_seconds",
           [&](auto& n, auto& k) { a.active_interval_seconds = r.Number(n, k, 60, 30 * kDay); }},
          {"http_threads",
           [&](auto& n, auto& k) { a.http_threads = static_cast<int>(r.Integer(n, k, 1, 64)); }},
          {"web_config", [&](auto& n, auto& k) { a.web_config = r.String(n, k); }},
          {"report_process_names",
           [&](auto& n, auto& k) { a.report_process_names = r.Bool(n, k); }},
      });
}

void ReadDrain(const StrictTomlReader& r, const toml::table& table, const std::string& prefix,
               agent::DrainPolicyConfig& d) {
  std::map<int, const toml::node*> windows;  // for the line number of a window that cannot fill
  r.Walk(
      table, prefix,
      {
          {"noisy_rounds",
           [&](auto& n, auto& k) { d.noisy_rounds = static_cast<int>(r.Integer(n, k, 1, 1000)); }},
          {"history_seconds",
           [&](auto& n, auto& k) { d.history_seconds = r.Number(n, k, 60, 366 * kDay); }},
          {"codes",
           [&](auto& n, auto& k) {
             for (const auto& [code, value] : r.Table(n, k)) {
               const std::string key = k + "." + std::string(code.str());
               if (FindCatalogEntry(code.str()) == nullptr) {
                 r.Fail(value, "unknown finding code \"" + std::string(code.str()) + "\"");
               }
               agent::CodeRule& rule = d.codes[std::string(code.str())];
               r.Walk(r.Table(value, key), key,
                      {
                          {"action", [&](auto& m, auto& j) { rule.action = ReadAction(r, m, j); }},
                          {"rounds",
                           [&](auto& m, auto& j) {
                             rule.rounds = static_cast<int>(r.Integer(m, j, 1, 1000));
                           }},
                          {"sticky", [&](auto& m, auto& j) { rule.sticky = r.Bool(m, j); }},
                      });
             }
           }},
          {"xid",
           [&](auto& n, auto& k) {
             for (const auto& [number, value] : r.Table(n, k)) {
               const std::string_view text = number.str();
               const std::string key = k + "." + std::string(text);
               int xid = 0;
               const auto [end, error] =
                   std::from_chars(text.data(), text.data() + text.size(), xid);
               if (error != std::errc() || end != text.data() + text.size() || xid < 1 ||
                   xid > 1000) {
                 r.Fail(value, "\"" + key + "\": \"" + std::string(text) +
                                   "\" is not an XID number (1..1000)");
               }
               agent::XidWindowRule rule;
               windows[xid] = &value;
               bool has_count = false;
               r.Walk(r.Table(value, key), key,
                      {
                          {"count",
                           [&](auto& m, auto& j) {
                             rule.count = static_cast<int>(r.Integer(m, j, 1, 100000));
                             has_count = true;
                           }},
                          {"window_seconds",
                           [&](auto& m, auto& j) {
                             rule.window_seconds = r.Number(m, j, 1, 30 * kDay);
                             windows[xid] = &m;
                           }},
                          {"action", [&](auto& m, auto& j) { rule.action = ReadAction(r, m, j); }},
                      });
               if (!has_count) r.Fail(value, "\"" + key + "\" needs a count");
               d.xid_windows[xid] = rule;
             }
           }},
      });
  // The policy forgets events older than the history, so a longer window could never fill.
  for (const auto& [xid, node] : windows) {
    if (d.xid_windows.at(xid).window_seconds > d.history_seconds) {
      r.Fail(*node, "\"" + prefix + ".xid." + std::to_string(xid) +
                        ".window_seconds\" is longer than \"" + prefix + ".history_seconds\"");
    }
  }
}

void ReadSlurm(const StrictTomlReader& r, const toml::table& table, const std::string& prefix,
               SlurmSettings& s) {
  r.Walk(table, prefix,
         {
             {"scontrol", [&](auto& n, auto& k) { s.scontrol = r.String(n, k); }},
             {"slurm_conf", [&](auto& n, auto& k) { s.slurm_conf = r.String(n, k); }},
             {"agent_url", [&](auto& n, auto& k) { s.agent_url = r.String(n, k); }},
             {"agent_timeout_seconds",
              [&](auto& n, auto& k) { s.agent_timeout_seconds = r.Number(n, k, 0.1, 10); }},
             {"fallback",
              [&](auto& n, auto& k) {
                s.fallback = r.String(n, k);
                if (s.fallback != "check" && s.fallback != "none") {
                  r.Fail(n, "\"" + k + "\" must be \"check\" or \"none\"");
                }
              }},
             {"check_timeout_seconds",
              [&](auto& n, auto& k) { s.check_timeout_seconds = r.Number(n, k, 1, 30); }},
             {"max_drained_fraction",
              [&](auto& n, auto& k) {
                s.max_drained_fraction = r.Number(n, k, 0, 1);
                if (s.max_drained_fraction <= 0) r.Fail(n, "\"" + k + "\" must be above 0");
              }},
             {"max_drained_nodes",
              [&](auto& n, auto& k) {
                s.max_drained_nodes = static_cast<int>(r.Integer(n, k, 0, 1000000));
              }},
         });
}

void ReadProvider(const StrictTomlReader& r, const toml::table& table, const std::string& prefix,
                  ProviderSettings& p) {
  const auto endpoint = [&](const toml::node& n, const std::string& k, EndpointKind kind) {
    std::string url = r.String(n, k);
    if (Expected<bool> ok = CheckEndpoint(url, kind); !ok) {
      r.Fail(n, "\"" + k + "\": " + ok.error().message);
    }
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
  };
  const auto one_of = [&](const toml::node& n, const std::string& k,
                          std::initializer_list<std::string_view> allowed) {
    std::string value = r.String(n, k);
    for (std::string_view a : allowed) {
      if (value == a) return value;
    }
    std::string list;
    for (std::string_view a : allowed)
      list += (list.empty() ? "\"" : ", \"") + std::string(a) + "\"";
    r.Fail(n, "\"" + k + "\" must be one of " + list);
    return value;
  };
  r.Walk(
      table, prefix,
      {
          {"kind",
           [&](auto& n, auto& k) {
             p.kind = one_of(n, k, {"none", "azure", "gcp"});
           }},
          {"from_agent", [&](auto& n, auto& k) { p.from_agent = r.Bool(n, k); }},
          {"ca_file", [&](auto& n, auto& k) { p.ca_file = r.String(n, k); }},
          {"timeout_seconds", [&](auto& n, auto& k) { p.timeout_seconds = r.Number(n, k, 1, 60); }},
          {"poll_interval_seconds",
           [&](auto& n, auto& k) { p.poll_interval_seconds = r.Number(n, k, 30, 86400); }},
          {"report_interval_seconds",
           [&](auto& n, auto& k) { p.report_interval_seconds = r.Number(n, k, 1, 3600); }},
          {"azure",
           [&](auto& n, auto& k) {
             r.Walk(
                 r.Table(n, k), k,
                 {
                     {"imds_endpoint",
                      [&](auto& m, auto& j) {
                        p.azure_imds_endpoint = endpoint(m, j, EndpointKind::kMetadata);
                      }},
                     {"management_endpoint",
                      [&](auto& m, auto& j) {
                        p.azure_management_endpoint = endpoint(m, j, EndpointKind::kManagement);
                      }},
                     {"api_version",
                      [&](auto& m, auto& j) { p.azure_api_version = r.String(m, j); }},
                     {"client_id", [&](auto& m, auto& j) { p.azure_client_id = r.String(m, j); }},
                     {"object_id", [&](auto& m, auto& j) { p.azure_object_id = r.String(m, j); }},
                     {"msi_res_id", [&](auto& m, auto& j) { p.azure_msi_res_id = r.String(m, j); }},
                     {"kvp_pool_file",
                      [&](auto& m, auto& j) { p.azure_kvp_pool_file = r.String(m, j); }},
                     {"physical_host_name",
                      [&](auto& m, auto& j) { p.azure_physical_host_name = r.String(m, j); }},
                 });
           }},
          {"gcp",
           [&](auto& n, auto& k) {
             r.Walk(r.Table(n, k), k,
                    {
                        {"metadata_endpoint",
                         [&](auto& m, auto& j) {
                           p.gcp_metadata_endpoint = endpoint(m, j, EndpointKind::kMetadata);
                         }},
                        {"compute_endpoint",
                         [&](auto& m, auto& j) {
                           p.gcp_compute_endpoint = endpoint(m, j, EndpointKind::kManagement);
                         }},
                        {"disruption_schedule",
                         [&](auto& m, auto& j) {
                           p.gcp_disruption_schedule = one_of(m, j, {"IMMEDIATE", "FUTURE"});
                         }},
                    });
           }},
      });
}

Config ReadConfig(const toml::table& root, const StrictTomlReader& r) {
  Config c;
  r.Walk(root, "",
         {
             {"profile", [&](auto& n, auto& k) { c.profile = r.String(n, k); }},
             {"nvml_library", [&](auto& n, auto& k) { c.nvml_library = r.String(n, k); }},
             {"cuda_library", [&](auto& n, auto& k) { c.cuda_library = r.String(n, k); }},
             {"nccl_library", [&](auto& n, auto& k) { c.nccl_library = r.String(n, k); }},
             {"topology_baseline", [&](auto& n, auto& k) { c.topology_baseline = r.String(n, k); }},
             {"state_dir", [&](auto& n, auto& k) { c.state_dir = r.String(n, k); }},
             {"agent", [&](auto& n, auto& k) { ReadAgent(r, r.Table(n, k), k, c.agent); }},
             {"drain", [&](auto& n, auto& k) { ReadDrain(r, r.Table(n, k), k, c.drain); }},
             {"slurm", [&](auto& n, auto& k) { ReadSlurm(r, r.Table(n, k), k, c.slurm); }},
             {"provider", [&](auto& n, auto& k) { ReadProvider(r, r.Table(n, k), k, c.provider); }},
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
                  c.action_overrides[std::string(code.str())] = ReadAction(r, value, key);
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
