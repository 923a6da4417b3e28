#include "exporters/table_report.h"

#include <algorithm>
#include <cstdio>

namespace nodehealth {
namespace {

std::string Pad(std::string_view text, std::size_t width) {
  std::string out(text);
  if (out.size() < width) out.append(width - out.size(), ' ');
  return out;
}

std::string Upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

// "3.4 ms" below a second, "12.0 s" from there: at most 9 characters up to 99999 s.
std::string Duration(double seconds) {
  char buffer[32];
  if (seconds < 1) {
    std::snprintf(buffer, sizeof buffer, "%.1f ms", seconds * 1000);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.1f s", seconds);
  }
  return buffer;
}

std::string ProbeSummary(const ProbeResult& probe) {
  if (probe.verdict == ProbeVerdict::kSkip) return probe.skip_reason;
  if (probe.verdict == ProbeVerdict::kError) return probe.error;
  if (probe.findings.empty()) return "ok";
  return std::to_string(probe.findings.size()) +
         (probe.findings.size() == 1 ? " finding" : " findings");
}

}  // namespace

std::string RenderTableReport(const Report& report) {
  std::string out = "nodehealth " + report.mode + " on " + report.node + "\n";
  out += "profile: " + (report.profile ? *report.profile : std::string("none (observe-only)"));
  if (!report.profile_reason.empty()) out += " - " + report.profile_reason;
  out += "\n";
  if (!report.summary.empty()) out += report.summary + "\n";
  // The name column fits the longest probe name and two spaces, so columns never touch.
  std::size_t name_width = 14;
  for (const ProbeResult& probe : report.probes) {
    name_width = std::max(name_width, probe.name.size() + 2);
  }
  out += "\n" + Pad("PROBE", name_width) + Pad("VERDICT", 9) + Pad("TIME", 10) + "RESULT\n";
  for (const ProbeResult& probe : report.probes) {
    out += Pad(probe.name, name_width) + Pad(ToString(probe.verdict), 9) +
           Pad(Duration(probe.duration.count()), 10) + ProbeSummary(probe) + "\n";
  }

  bool header = false;
  for (const ProbeResult& probe : report.probes) {
    for (const Finding& f : probe.findings) {
      if (!header) {
        out += "\nFINDINGS\n";
        header = true;
      }
      out += "  " + Pad(Upper(ToString(f.severity)), 6) + Pad(ToString(f.action), 11) + f.code +
             "  " + f.entity + "\n";
      out += "        " + f.message + "\n";
      for (const Evidence& e : f.evidence) {
        out += "        " + e.source + ": " + e.observed;
        if (!e.expected.empty()) out += " (expected " + e.expected + ")";
        out += "\n";
      }
    }
  }
  header = false;
  for (const ProbeResult& probe : report.probes) {
    for (const std::string& note : probe.notes) {
      if (!header) {
        out += "\nNOTES\n";
        header = true;
      }
      out += "  " + probe.name + ": " + note + "\n";
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
