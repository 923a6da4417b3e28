#include "exporters/table_report.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "exporters/human_format.h"
#include "probes/finding_catalog.h"

namespace nodehealth {
namespace {

constexpr std::size_t kPageWidth = 100;
constexpr std::size_t kMaxNameWidth = 24;  // a longer probe name is cut with "…"
constexpr std::size_t kDetailIndent = 8;   // message, evidence and remedy lines under a finding

std::string Pad(std::string_view text, std::size_t width) {
  std::string out(text);
  const std::size_t columns = DisplayWidth(text);
  if (columns < width) out.append(width - columns, ' ');
  return out;
}

std::string Upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

// `text` wrapped to the page, its first line after `first` (already `indent` columns wide), the
// others indented by `indent` spaces.
std::string Hanging(std::string_view first, std::size_t indent, std::string_view text) {
  const std::size_t width = kPageWidth > indent + 20 ? kPageWidth - indent : 20;
  std::string out(first);
  bool start = true;
  for (const std::string& line : WrapText(text, width)) {
    if (!start) out += std::string(indent, ' ');
    out += line + "\n";
    start = false;
  }
  return out;
}

std::string Detail(std::string_view text) {
  return Hanging(std::string(kDetailIndent, ' '), kDetailIndent, text);
}

std::string ProbeSummary(const ProbeResult& probe) {
  if (probe.verdict == ProbeVerdict::kSkip) return probe.skip_reason;
  if (probe.verdict == ProbeVerdict::kError) return probe.error;
  if (probe.findings.empty()) return "ok";
  return std::to_string(probe.findings.size()) +
         (probe.findings.size() == 1 ? " finding" : " findings");
}

std::string_view EntityKind(std::string_view entity) { return entity.substr(0, entity.find('/')); }

// "8 GPUs", "2 InfiniBand ports", "3 nvme entities".
std::string CountedKind(std::size_t count, std::string_view entity) {
  const std::string_view kind = EntityKind(entity);
  const bool many = count != 1;
  std::string noun;
  if (kind == "gpu") {
    noun = many ? "GPUs" : "GPU";
  } else if (kind == "hca") {
    // "hca/mlx5_0/1" is a port, "hca/mlx5_0" the adapter.
    const bool port = std::count(entity.begin(), entity.end(), '/') >= 2;
    noun = port ? (many ? "InfiniBand ports" : "InfiniBand port") : (many ? "HCAs" : "HCA");
  } else {
    noun = std::string(kind) + (many ? " entities" : " entity");
  }
  return std::to_string(count) + " " + noun;
}

// Findings shown on one line: one finding, or the same code with the same severity and action on
// several entities of one kind.
struct FindingGroup {
  std::vector<const Finding*> findings;
};

std::vector<FindingGroup> GroupFindings(const Report& report) {
  using Key = std::tuple<std::string, std::string, Severity, Action>;
  std::vector<FindingGroup> groups;
  std::map<Key, std::size_t> index;
  std::map<Key, std::set<std::string>> entities;
  std::set<Key> repeated_entity;  // the same entity twice (two XIDs on one GPU): no grouping
  std::vector<Key> keys;
  for (const ProbeResult& probe : report.probes) {
    for (const Finding& f : probe.findings) {
      const Key key{f.code, std::string(EntityKind(f.entity)), f.severity, f.action};
      if (!entities[key].insert(f.entity).second) repeated_entity.insert(key);
    }
  }
  for (const ProbeResult& probe : report.probes) {
    for (const Finding& f : probe.findings) {
      const Key key{f.code, std::string(EntityKind(f.entity)), f.severity, f.action};
      if (!repeated_entity.count(key) && f.entity != "node") {
        if (auto it = index.find(key); it != index.end()) {
          groups[it->second].findings.push_back(&f);
          continue;
        }
        index[key] = groups.size();
      }
      groups.push_back({{&f}});
    }
  }
  return groups;
}

// The entities of a group on one line: as many as fit, then "… and N more".
std::string EntityList(const std::vector<const Finding*>& findings) {
  const std::size_t width = kPageWidth - kDetailIndent;
  std::string all;
  for (const Finding* f : findings) all += (all.empty() ? "" : ", ") + f->entity;
  if (DisplayWidth(all) <= width) return all;
  std::string list;
  for (std::size_t shown = 0; shown < findings.size(); ++shown) {
    const std::string more =
        ", \u2026 and " + std::to_string(findings.size() - shown - 1) + " more";
    const std::string next = (list.empty() ? "" : list + ", ") + findings[shown]->entity;
    if (DisplayWidth(next) + DisplayWidth(more) > width) {
      if (list.empty()) return Truncate(all, width);
      return list + ", \u2026 and " + std::to_string(findings.size() - shown) + " more";
    }
    list = next;
  }
  return list;  // not reached: the whole list did not fit
}

std::string RenderFindings(const Report& report) {
  const std::vector<FindingGroup> groups = GroupFindings(report);
  if (groups.empty()) return "";
  std::size_t severity_width = 0;
  std::size_t action_width = 0;
  for (const FindingGroup& g : groups) {
    severity_width = std::max(severity_width, ToString(g.findings[0]->severity).size() + 2);
    action_width = std::max(action_width, ToString(g.findings[0]->action).size() + 2);
  }
  const std::size_t head_indent = 2 + severity_width + action_width;
  std::string out = "\nFINDINGS\n";
  for (const FindingGroup& g : groups) {
    const Finding& first = *g.findings[0];
    const std::string head = "  " + Pad(Upper(ToString(first.severity)), severity_width) +
                             Pad(ToString(first.action), action_width);
    if (g.findings.size() == 1) {
      // Code and entity on one line when they fit; else the entity below the code, wrapped.
      const std::string what = first.code + "  " + first.entity;
      if (head_indent + DisplayWidth(what) <= kPageWidth) {
        out += head + what + "\n";
      } else {
        out += Hanging(head, head_indent, first.code);
        out += Hanging(std::string(head_indent, ' '), head_indent, first.entity);
      }
      out += Detail(first.message);
      for (const Evidence& e : first.evidence) {
        std::string line = e.source + ": " + e.observed;
        if (!e.expected.empty()) line += " (expected " + e.expected + ")";
        out += Detail(line);
      }
    } else {
      const std::size_t n = g.findings.size();
      out += Hanging(head, head_indent, CountedKind(n, first.entity) + ": " + first.code);
      out += std::string(kDetailIndent, ' ') + EntityList(g.findings) + "\n";
      out += Detail(first.message + " (1 of " + std::to_string(n) +
                    "; --format json lists each with its evidence)");
    }
    if (const CatalogEntry* entry = FindCatalogEntry(first.code); entry && !entry->remedy.empty()) {
      out += Detail("remedy: " + std::string(entry->remedy));
    }
  }
  return out;
}

}  // namespace

std::string RenderTableReport(const Report& report) {
  std::string out = "nodehealth " + report.mode + " on " + report.node + "\n";
  std::string profile =
      "profile: " + (report.profile ? *report.profile : std::string("none (observe-only)"));
  if (!report.profile_reason.empty()) profile += " - " + report.profile_reason;
  out += Hanging("", 2, profile);
  if (!report.summary.empty()) out += Hanging("", 0, report.summary);

  // Each column is as wide as its longest cell and two spaces, so columns never touch; a probe
  // name longer than kMaxNameWidth is cut, and the last column wraps under itself.
  std::size_t name_width = std::string_view("PROBE").size();
  std::size_t verdict_width = std::string_view("VERDICT").size();
  std::size_t time_width = std::string_view("TIME").size();
  for (const ProbeResult& probe : report.probes) {
    name_width = std::max(name_width, std::min(DisplayWidth(probe.name), kMaxNameWidth));
    verdict_width = std::max(verdict_width, ToString(probe.verdict).size());
    time_width = std::max(time_width, FormatDuration(probe.duration.count()).size());
  }
  name_width += 2;
  verdict_width += 2;
  time_width += 2;
  const std::size_t result_column = name_width + verdict_width + time_width;
  out += "\n" + Pad("PROBE", name_width) + Pad("VERDICT", verdict_width) + Pad("TIME", time_width) +
         "RESULT\n";
  for (const ProbeResult& probe : report.probes) {
    out += Hanging(Pad(Truncate(probe.name, kMaxNameWidth), name_width) +
                       Pad(ToString(probe.verdict), verdict_width) +
                       Pad(FormatDuration(probe.duration.count()), time_width),
                   result_column, ProbeSummary(probe));
  }

  out += RenderFindings(report);

  bool header = false;
  for (const ProbeResult& probe : report.probes) {
    for (const std::string& note : probe.notes) {
      if (!header) {
        out += "\nNOTES\n";
        header = true;
      }
      out += Hanging("  ", 4, probe.name + ": " + note);
    }
  }

  out += "\nVERDICT " + Upper(ToString(report.verdict));
  if (report.drain.recommended) {
    out += ": drain recommended (" + std::string(ToString(report.drain.action)) + "), " +
           std::to_string(report.drain.reasons.size()) +
           (report.drain.reasons.size() == 1 ? " reason" : " reasons");
  } else if (report.verdict == RunVerdict::kWarn) {
    out += ": no drain recommended; see the warnings above";
  } else {
    out += ": no drain recommended";
  }
  out += "\n";
  return out;
}

}  // namespace nodehealth
