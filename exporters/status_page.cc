#include "exporters/status_page.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include "exporters/json_report.h"
#include "probes/finding_catalog.h"

namespace nodehealth {
namespace {

// The length of the valid UTF-8 sequence at text[i], or 0 when the bytes there are not one.
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) low = 0xA0;
    if (c == 0xED) high = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) low = 0x90;
    if (c == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return n;
}

// Valid UTF-8 without control characters (tab and newline kept), at most kStatusPageMaxTextChars
// bytes of the input: invalid bytes and controls become U+FFFD, a cut string ends in "…".
std::string Clean(std::string_view text) {
  std::string out;
  out.reserve(std::min(text.size(), kStatusPageMaxTextChars) + 4);
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t n = Utf8SequenceLength(text, i);
    if (i + std::max<std::size_t>(n, 1) > kStatusPageMaxTextChars) {
      out += "\u2026";
      break;
    }
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (n == 0 || (c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
      out += "\uFFFD";
      i += 1;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

class Page {
 public:
  explicit Page(const StatusPageOptions& options) : options_(options) {}

  // A string from the report: filtered, cleaned, escaped.
  std::string Text(std::string_view text) const {
    if (options_.filter) return HtmlEscape(Clean(options_.filter(text)));
    return HtmlEscape(Clean(text));
  }

  std::string& out() { return out_; }
  bool Full() const { return out_.size() >= kStatusPageBudgetBytes; }
  Page& operator<<(std::string_view markup) {
    out_ += markup;
    return *this;
  }

 private:
  const StatusPageOptions& options_;
  std::string out_;
};

constexpr std::string_view kStyle = R"css(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;
background:#f5f6f8;color:#1d2330;font-size:14px}
header{display:flex;align-items:center;gap:24px;padding:18px 28px;background:#fff;
border-bottom:1px solid #d5d9e0}
header h1{margin:0;font-size:26px}
header .meta{color:#4a5263;margin-top:4px}
header nav{margin-left:auto}
header nav a{margin-left:14px}
.badge{font-size:30px;font-weight:700;letter-spacing:1px;padding:10px 22px;border-radius:8px;
color:#fff;min-width:150px;text-align:center}
.badge.healthy{background:#1e8e3e}.badge.warn{background:#d98e04}.badge.drain{background:#c5221f}
main{padding:8px 28px 28px}
section{background:#fff;border:1px solid #d5d9e0;border-radius:6px;margin-top:18px;
padding:12px 16px}
h2{font-size:18px;margin:4px 0 10px}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #c9ced8;padding:5px 8px;text-align:left;vertical-align:top}
td{overflow-wrap:break-word}td.wrap{overflow-wrap:anywhere}td.time{white-space:nowrap}
th{background:#eef1f5;font-weight:600;white-space:nowrap}
tr:nth-child(even) td{background:#fafbfc}
code,.mono{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px}
.v-pass,.s-ok{color:#1e8e3e;font-weight:600}.v-warn{color:#b06f00;font-weight:600}
.v-fail,.v-error,.s-bad{color:#c5221f;font-weight:600}.v-skip{color:#6b7280}
.sev-fail{color:#c5221f;font-weight:600}.sev-warn{color:#b06f00;font-weight:600}
.note{color:#4a5263}.evidence{margin:0;padding-left:16px;font-size:13px}
.evidence li{margin-bottom:2px}
a{color:#1a56c4}
footer{color:#6b7280;padding:0 28px 24px}
)css";

std::string ClassWord(std::string_view word) {
  std::string out;
  for (char c : word) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  return out;
}

std::string Rfc3339(double unix_seconds) {
  if (!(unix_seconds > 0) || !std::isfinite(unix_seconds) || unix_seconds > 1e11) return "-";
  return FormatRfc3339(std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::duration<double>(unix_seconds))));
}

std::string Number(double value, const char* format) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

void Links(Page& page) {
  page << "<nav><a href=\"/metrics\">/metrics</a><a href=\"/report\">/report</a>"
          "<a href=\"/healthz\">/healthz</a></nav>";
}

void Head(Page& page, const std::string& title) {
  page << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
          "<title>"
       << title << "</title><style>" << kStyle << "</style></head>\n<body>\n";
}

std::string Remedy(std::string_view code) {
  const CatalogEntry* entry = FindCatalogEntry(code);
  return entry ? HtmlEscape(entry->remedy) : std::string("(unknown code: see /report)");
}

void More(Page& page, std::size_t shown, std::size_t total, std::string_view what) {
  if (total <= shown) return;
  page << "<p class=\"note\">" << std::to_string(total - shown) << " more " << what
       << " not shown: see <a href=\"/report\">/report</a>.</p>";
}

void DrainSection(Page& page, const Report& report) {
  const DrainDecision& drain = report.drain;
  page << "<section id=\"drain\" data-recommended=\"" << (drain.recommended ? "true" : "false")
       << "\" data-action=\"" << ToString(drain.action) << "\"><h2>Drain decision</h2>";
  if (drain.recommended) {
    page << "<p><strong class=\"s-bad\">Drain recommended</strong>, action <code>"
         << ToString(drain.action) << "</code>, for " << std::to_string(drain.reasons.size())
         << (drain.reasons.size() == 1 ? " reason" : " reasons") << ".</p>";
  } else {
    page << "<p><strong class=\"s-ok\">No drain.</strong> Node action <code>"
         << ToString(drain.action) << "</code>.</p>";
  }
  if (!drain.reasons.empty()) {
    page << "<table><thead><tr><th>Code</th><th>Entity</th><th>Action</th><th>Message</th>"
            "<th>Remedy</th></tr></thead><tbody>";
    std::size_t shown = 0;
    for (const DrainReason& reason : drain.reasons) {
      if (shown == kStatusPageMaxFindings || page.Full()) break;
      ++shown;
      const std::string code = page.Text(reason.code);
      const std::string entity = page.Text(reason.entity);
      page << "<tr class=\"reason\" data-code=\"" << code << "\" data-entity=\"" << entity
           << "\"><td><code>" << code << "</code></td><td class=\"mono\">" << entity
           << "</td><td><code>" << ToString(reason.action) << "</code></td><td class=\"wrap\">"
           << page.Text(reason.message) << "</td><td>" << Remedy(reason.code) << "</td></tr>";
    }
    page << "</tbody></table>";
    More(page, shown, drain.reasons.size(), "reasons");
  }
  page << "</section>\n";
}

void ProbesSection(Page& page, const Report& report) {
  page << "<section id=\"probes\"><h2>Probes</h2><table><thead><tr><th>Probe</th>"
          "<th>Verdict</th><th>Duration</th><th>Last run</th><th>Findings</th><th>Note</th>"
          "</tr></thead><tbody>";
  for (const ProbeResult& probe : report.probes) {
    const std::string name = page.Text(probe.name);
    const std::string_view verdict = ToString(probe.verdict);
    std::string note;
    if (probe.verdict == ProbeVerdict::kError) note = page.Text(probe.error);
    if (probe.verdict == ProbeVerdict::kSkip) note = page.Text(probe.skip_reason);
    const double last_run =
        probe.finished_at > 0
            ? probe.finished_at
            : std::chrono::duration<double>(report.started_at.time_since_epoch()).count() +
                  report.duration_seconds;
    page << "<tr data-probe=\"" << name << "\" data-verdict=\"" << verdict << "\"><td><code>"
         << name << "</code></td><td class=\"v-" << ClassWord(verdict) << "\">" << verdict
         << "</td><td>" << HumanDuration(probe.duration.count()) << "</td><td class=\"mono time\">"
         << Rfc3339(last_run) << "</td><td>" << std::to_string(probe.findings.size())
         << "</td><td class=\"note\">" << note << "</td></tr>";
  }
  page << "</tbody></table></section>\n";
}

void FindingsSection(Page& page, const Report& report) {
  std::size_t total = 0;
  for (const ProbeResult& probe : report.probes) total += probe.findings.size();
  page << "<section id=\"findings\" data-count=\"" << std::to_string(total)
       << "\"><h2>Findings</h2>";
  if (total == 0) {
    page << "<p class=\"s-ok\">No findings.</p></section>\n";
    return;
  }
  page << "<table><thead><tr><th>Code</th><th>Entity</th><th>Severity</th><th>Action</th>"
          "<th>Probe</th><th>Message</th><th>Evidence</th><th>Remedy</th></tr></thead><tbody>";
  std::size_t shown = 0;
  for (const ProbeResult& probe : report.probes) {
    for (const Finding& f : probe.findings) {
      if (shown == kStatusPageMaxFindings || page.Full()) break;
      ++shown;
      const std::string code = page.Text(f.code);
      const std::string entity = page.Text(f.entity);
      const std::string_view severity = ToString(f.severity);
      page << "<tr class=\"finding\" data-code=\"" << code << "\" data-entity=\"" << entity
           << "\" data-severity=\"" << severity << "\" data-action=\"" << ToString(f.action)
           << "\"><td><code>" << code << "</code></td><td class=\"mono\">" << entity
           << "</td><td class=\"sev-" << ClassWord(severity) << "\">" << severity
           << "</td><td><code>" << ToString(f.action) << "</code></td><td><code>"
           << page.Text(probe.name) << "</code></td><td class=\"wrap\">" << page.Text(f.message)
           << "</td><td class=\"wrap\">";
      if (!f.evidence.empty()) {
        page << "<ul class=\"evidence\">";
        std::size_t n = 0;
        for (const Evidence& e : f.evidence) {
          if (n == kStatusPageMaxEvidence) break;
          ++n;
          page << "<li><span class=\"mono\">" << page.Text(e.source)
               << "</span>: " << page.Text(e.observed);
          if (!e.expected.empty()) page << " (expected " << page.Text(e.expected) << ")";
          page << "</li>";
        }
        page << "</ul>";
        More(page, n, f.evidence.size(), "items");
      }
      page << "</td><td>" << Remedy(f.code) << "</td></tr>";
    }
  }
  page << "</tbody></table>";
  More(page, shown, total, "findings");
  page << "</section>\n";
}

const std::string* Label(const Measurement& m, const std::string& key) {
  auto it = m.labels.find(key);
  return it == m.labels.end() ? nullptr : &it->second;
}

struct GpuRow {
  std::map<std::string, std::string> info;  // gpu_info's labels
  std::optional<double> temperature, pcie_gen, pcie_width, ecc_uncorrected, remap_pending;
  int findings = 0;
};

struct PortRow {
  std::optional<double> state, physical_state, rate;
  std::string link_layer;
  int findings = 0;
};

std::string StateName(double id) {
  static const std::map<int, std::string> kNames = {
      {1, "DOWN"}, {2, "INIT"}, {3, "ARMED"}, {4, "ACTIVE"}, {5, "ACTIVE_DEFER"}};
  auto it = kNames.find(static_cast<int>(id));
  return it == kNames.end() ? "state " + Number(id, "%.0f") : it->second;
}

std::string PhysicalStateName(double id) {
  static const std::map<int, std::string> kNames = {
      {1, "Sleep"},  {2, "Polling"},           {3, "Disabled"}, {4, "Training"},
      {5, "LinkUp"}, {6, "LinkErrorRecovery"}, {7, "PhyTest"}};
  auto it = kNames.find(static_cast<int>(id));
  return it == kNames.end() ? "state " + Number(id, "%.0f") : it->second;
}

std::string Optional(const std::optional<double>& value, const char* format) {
  return value ? Number(*value, format) : std::string("-");
}

void DevicesSection(Page& page, const Report& report) {
  std::map<std::string, GpuRow> gpus;
  std::map<std::string, PortRow> ports;                            // "mlx5_0/1"
  std::map<std::string, std::map<std::string, std::string>> hcas;  // device -> ib_hca_info labels
  for (const ProbeResult& probe : report.probes) {
    for (const Measurement& m : probe.measurements) {
      if (const std::string* gpu = Label(m, "gpu")) {
        if (m.name == "gpu_info") {
          gpus[*gpu].info = m.labels;
        } else if (m.name == "gpu_temperature_celsius") {
          gpus[*gpu].temperature = m.value;
        } else if (m.name == "gpu_pcie_link_generation" || m.name == "gpu_pcie_link_width") {
          const std::string* state = Label(m, "state");
          if (state && *state == "current") {
            (m.name == "gpu_pcie_link_width" ? gpus[*gpu].pcie_width : gpus[*gpu].pcie_gen) =
                m.value;
          }
        } else if (m.name == "gpu_ecc_errors") {
          const std::string* counter = Label(m, "counter");
          const std::string* type = Label(m, "type");
          if (counter && type && *counter == "volatile" && *type == "uncorrected") {
            gpus[*gpu].ecc_uncorrected = m.value;
          }
        } else if (m.name == "gpu_row_remap_pending") {
          gpus[*gpu].remap_pending = m.value;
        }
        continue;
      }
      const std::string* device = Label(m, "device");
      if (!device) continue;
      if (m.name == "ib_hca_info") {
        hcas[*device] = m.labels;
        continue;
      }
      const std::string* port = Label(m, "port");
      if (!port) continue;
      PortRow* row = nullptr;
      if (m.name == "ib_port_info" || m.name == "ib_port_state_id" ||
          m.name == "ib_port_physical_state_id" || m.name == "ib_port_rate_bytes_per_second") {
        row = &ports[*device + "/" + *port];
      }
      if (!row) continue;
      if (m.name == "ib_port_info") {
        if (const std::string* layer = Label(m, "link_layer")) row->link_layer = *layer;
      } else if (m.name == "ib_port_state_id") {
        row->state = m.value;
      } else if (m.name == "ib_port_physical_state_id") {
        row->physical_state = m.value;
      } else {
        row->rate = m.value;
      }
    }
  }
  // GPUs and ports that only findings name (a GPU lost, a port gone) get a row too.
  for (const ProbeResult& probe : report.probes) {
    for (const Finding& f : probe.findings) {
      if (f.entity.rfind("gpu/", 0) == 0) ++gpus[f.entity.substr(4)].findings;
      if (f.entity.rfind("hca/", 0) == 0 && f.entity.find('/', 4) != std::string::npos) {
        ++ports[f.entity.substr(4)].findings;
      }
    }
  }

  page << "<section id=\"gpus\" data-count=\"" << std::to_string(gpus.size()) << "\"><h2>GPUs</h2>";
  if (gpus.empty()) {
    page << "<p class=\"note\">The report names no GPU.</p>";
  } else {
    page << "<table><thead><tr><th>Bus id</th><th>Model</th><th>UUID</th><th>Serial</th>"
            "<th>VBIOS</th><th>Temp. (&deg;C)</th><th>PCIe</th><th>Uncorr. ECC</th>"
            "<th>Remap pending</th><th>Findings</th></tr></thead><tbody>";
    std::size_t shown = 0;
    for (const auto& gpu : gpus) {
      // Not a structured binding: clang 14 cannot capture one in the lambda below.
      const std::string& bus_id = gpu.first;
      const auto& row = gpu.second;
      if (shown == kStatusPageMaxDevices || page.Full()) break;
      ++shown;
      const auto info = [&](const std::string& key) {
        auto it = row.info.find(key);
        return it == row.info.end() ? std::string("-") : page.Text(it->second);
      };
      const std::string id = page.Text(bus_id);
      const std::string pcie =
          row.pcie_gen || row.pcie_width
              ? "Gen" + Optional(row.pcie_gen, "%.0f") + " x" + Optional(row.pcie_width, "%.0f")
              : std::string("-");
      page << "<tr data-gpu=\"" << id << "\"><td class=\"mono\">" << id << "</td><td>"
           << info("name") << "</td><td class=\"mono\">" << info("uuid")
           << "</td><td class=\"mono\">" << info("serial") << "</td><td class=\"mono\">"
           << info("vbios_version") << "</td><td>" << Optional(row.temperature, "%.0f")
           << "</td><td>" << pcie << "</td><td>" << Optional(row.ecc_uncorrected, "%.0f")
           << "</td><td>" << Optional(row.remap_pending, "%.0f") << "</td><td"
           << (row.findings > 0 ? " class=\"s-bad\"" : "") << ">" << std::to_string(row.findings)
           << "</td></tr>";
    }
    page << "</tbody></table>";
    More(page, shown, gpus.size(), "GPUs");
  }
  page << "</section>\n";

  page << "<section id=\"ports\" data-count=\"" << std::to_string(ports.size())
       << "\"><h2>InfiniBand / RDMA ports</h2>";
  if (ports.empty()) {
    page << "<p class=\"note\">The report names no RDMA port.</p>";
  } else {
    page << "<table><thead><tr><th>Port</th><th>State</th><th>Physical state</th>"
            "<th>Rate</th><th>Link layer</th><th>Firmware</th><th>Board</th><th>Findings</th>"
            "</tr></thead><tbody>";
    std::size_t shown = 0;
    for (const auto& [name, row] : ports) {
      if (shown == kStatusPageMaxDevices || page.Full()) break;
      ++shown;
      const std::string device = name.substr(0, name.find('/'));
      auto hca = hcas.find(device);
      const auto info = [&](const std::string& key) {
        if (hca == hcas.end()) return std::string("-");
        auto it = hca->second.find(key);
        return it == hca->second.end() ? std::string("-") : page.Text(it->second);
      };
      const bool active = row.state && *row.state == 4;
      const std::string id = page.Text(name);
      page << "<tr data-port=\"" << id << "\"><td class=\"mono\">" << id << "</td><td"
           << (row.state ? (active ? " class=\"s-ok\"" : " class=\"s-bad\"") : "") << ">"
           << (row.state ? StateName(*row.state) : std::string("-")) << "</td><td>"
           << (row.physical_state ? PhysicalStateName(*row.physical_state) : std::string("-"))
           << "</td><td>"
           << (row.rate ? Number(*row.rate * 8 / 1e9, "%.0f") + " Gb/s" : std::string("-"))
           << "</td><td>" << (row.link_layer.empty() ? "-" : page.Text(row.link_layer))
           << "</td><td class=\"mono\">" << info("firmware_version") << "</td><td class=\"mono\">"
           << info("board_id") << "</td><td" << (row.findings > 0 ? " class=\"s-bad\"" : "") << ">"
           << std::to_string(row.findings) << "</td></tr>";
    }
    page << "</tbody></table>";
    More(page, shown, ports.size(), "ports");
  }
  page << "</section>\n";
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string HumanDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "-";
  if (seconds == 0) return "0 s";
  if (seconds >= 60) {
    const long long total = std::llround(seconds);
    return std::to_string(total / 60) + " min " + std::to_string(total % 60) + " s";
  }
  if (seconds >= 1) return Number(seconds, "%.1f s");
  if (seconds >= 1e-3) return Number(seconds * 1e3, "%.1f ms");
  return Number(seconds * 1e6, "%.0f \u00b5s");
}

std::string RenderStatusPage(const Report& report, const StatusPageOptions& options) {
  Page page(options);
  const std::string node = page.Text(report.node);
  const bool drain = report.drain.recommended;
  const std::string_view status =
      drain ? "drain" : (report.verdict == RunVerdict::kPass ? "healthy" : "warn");
  const std::string_view word = drain ? "DRAIN" : (status == "healthy" ? "HEALTHY" : "WARN");
  Head(page, "nodehealth: " + node + " " + std::string(word));
  page << "<header><div id=\"badge\" class=\"badge " << status << "\" data-status=\"" << status
       << "\">" << word << "</div><div><h1 id=\"node\">" << node
       << "</h1><div class=\"meta\">nodehealth <span id=\"version\">" << page.Text(report.version)
       << "</span> &middot; verdict <span id=\"verdict\" class=\"v-"
       << ClassWord(ToString(report.verdict)) << "\">" << ToString(report.verdict)
       << "</span> &middot; report of <span id=\"report-time\" class=\"mono\">"
       << FormatRfc3339(report.started_at) << "</span> &middot; profile "
       << (report.profile ? page.Text(*report.profile) : std::string("none (observe only)"))
       << "</div>";
  if (!report.summary.empty()) {
    page << "<div class=\"meta\" id=\"summary\">" << page.Text(report.summary) << "</div>";
  }
  page << "</div>";
  Links(page);
  page << "</header>\n<main>\n";
  DrainSection(page, report);
  FindingsSection(page, report);
  ProbesSection(page, report);
  DevicesSection(page, report);
  page << "</main>\n<footer>Rendered from the same snapshot as <a href=\"/report\">/report</a>; "
          "remedies from nodehealth's finding catalogue. This page has no script and loads "
          "nothing else.</footer>\n</body></html>\n";
  return std::move(page.out());
}

std::string RenderStatusPageWaiting() {
  StatusPageOptions none;
  Page page(none);
  Head(page, "nodehealth: waiting for the first round");
  page << "<header><div id=\"badge\" class=\"badge warn\" data-status=\"waiting\">WAIT</div>"
          "<div><h1>nodehealth</h1><div class=\"meta\">No results yet: the first round has not "
          "ended. Reload in a few seconds.</div></div>";
  Links(page);
  page << "</header>\n</body></html>\n";
  return std::move(page.out());
}

}  // namespace nodehealth
