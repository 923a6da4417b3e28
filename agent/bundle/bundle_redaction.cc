#include "agent/bundle/bundle_redaction.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "agent/bundle/tar_writer.h"
#include "agent/daemon/report_redaction.h"

namespace nodehealth::bundle {
namespace {

bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Host-name characters: a name must not continue on either side of a match.
bool NameChar(char c) { return IsAlnum(c) || c == '-' || c == '_'; }

}  // namespace

Redactor::Redactor(std::vector<std::string> host_names) {
  for (const std::string& name : host_names) {
    std::string lower = Lower(name);
    if (lower.size() < 3 || lower == "localhost") continue;
    if (std::find(host_names_.begin(), host_names_.end(), lower) == host_names_.end()) {
      host_names_.push_back(std::move(lower));
    }
  }
  // The FQDN before its own first label, so that it gets its own placeholder.
  std::stable_sort(host_names_.begin(), host_names_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& name : host_names_) Placeholder("host", hosts_, name);
}

std::string Redactor::Placeholder(const char* kind, std::map<std::string, std::string>& table,
                                  const std::string& key) {
  auto it = table.find(key);
  if (it == table.end()) {
    it = table.emplace(key, std::string(kind) + "-" + std::to_string(table.size() + 1)).first;
  }
  return it->second;
}

std::string Redactor::HostName(std::string_view name) {
  const auto it = hosts_.find(Lower(name));
  return it == hosts_.end() ? std::string(name) : it->second;
}

std::string Redactor::HostNames(std::string_view text) {
  if (host_names_.empty()) return std::string(text);
  const std::string lower = Lower(text);
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    bool replaced = false;
    if (i == 0 || !NameChar(text[i - 1])) {
      for (const std::string& name : host_names_) {
        const std::size_t end = i + name.size();
        if (lower.compare(i, name.size(), name) == 0 &&
            (end == text.size() || !NameChar(text[end]))) {
          out += hosts_.at(name);
          i = end;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

std::string Redactor::Macs(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    // After "bootnet:" (dracut's ifname=bootnet:94:6d:...) a MAC may follow a colon; after a hex
    // digit and a colon it is the tail of a longer address.
    const bool boundary = i == 0 || (!IsAlnum(text[i - 1]) && text[i - 1] != '-' &&
                                     (text[i - 1] != ':' || i < 2 || !IsHex(text[i - 2])));
    if (boundary && i + 1 < text.size() && IsHex(text[i]) && IsHex(text[i + 1])) {
      // Groups of exactly two hex digits joined by one separator, ':' or '-' throughout.
      std::size_t j = i + 2;
      int groups = 1;
      const char sep = j < text.size() ? text[j] : '\0';
      if (sep == ':' || sep == '-') {
        while (j + 2 < text.size() && text[j] == sep && IsHex(text[j + 1]) && IsHex(text[j + 2])) {
          j += 3;
          ++groups;
        }
      }
      const bool ends = j == text.size() || !(IsAlnum(text[j]) || text[j] == ':' || text[j] == '-');
      if ((groups == 6 || groups == 20) && ends) {
        std::string key = Lower(text.substr(i, j - i));
        std::replace(key.begin(), key.end(), '-', ':');
        out += Placeholder("mac", macs_, key);
        i = j;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

std::string Redactor::Ipv6(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const bool boundary = i == 0 || !(IsAlnum(text[i - 1]) || text[i - 1] == '_' ||
                                      text[i - 1] == ':' || text[i - 1] == '.');
    if (boundary && (IsHex(c) || c == ':')) {
      std::size_t j = i;
      while (j < text.size() && (IsHex(text[j]) || text[j] == ':')) ++j;
      std::string_view run = text.substr(i, j - i);
      // "fe80::1:" at the end of a sentence: the colon is punctuation.
      while (!run.empty() && run.back() == ':' && !run.ends_with("::")) run.remove_suffix(1);
      const std::size_t end = i + run.size();
      const bool ends = end == text.size() || !(IsAlnum(text[end]) || text[end] == '_');
      int groups = 0;
      for (std::size_t k = 0; k < run.size(); ++k) {
        if (IsHex(run[k]) && (k == 0 || run[k - 1] == ':')) ++groups;
      }
      const std::size_t colons = std::count(run.begin(), run.end(), ':');
      in6_addr address{};
      // Two groups at least, and either "::" or all eight: "12:34:56" (a time) is no address.
      if (ends && groups >= 2 && (run.find("::") != std::string_view::npos || colons == 7) &&
          ::inet_pton(AF_INET6, std::string(run).c_str(), &address) == 1) {
        char canonical[INET6_ADDRSTRLEN] = {};
        ::inet_ntop(AF_INET6, &address, canonical, sizeof canonical);
        out += Placeholder("ip", ips_, canonical);
        i = end;
        continue;
      }
      out.append(text.substr(i, std::max<std::size_t>(j - i, 1)));
      i = std::max(j, i + 1);
      continue;
    }
    out += text[i++];
  }
  return out;
}

std::string Redactor::Ipv4(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const bool boundary = i == 0 || !(IsAlnum(text[i - 1]) || text[i - 1] == '_' ||
                                      text[i - 1] == '.' || text[i - 1] == '-');
    if (boundary && IsDigit(text[i])) {
      std::size_t j = i;
      int octets[4] = {};
      int parsed = 0;
      while (parsed < 4) {
        std::size_t digits = 0;
        int value = 0;
        while (j < text.size() && IsDigit(text[j]) && digits < 4) {
          value = value * 10 + (text[j] - '0');
          ++j;
          ++digits;
        }
        // "40.100.00.00" is a driver version: addresses are not written with leading zeros.
        const bool leading_zero = digits > 1 && text[j - digits] == '0';
        if (digits == 0 || digits > 3 || value > 255 || leading_zero) break;
        octets[parsed++] = value;
        if (parsed < 4) {
          if (j >= text.size() || text[j] != '.') break;
          ++j;
        }
      }
      // Not followed by more of a dotted number ("1.2.3.4.5", a version) or a word.
      const bool ends =
          j == text.size() || !(IsAlnum(text[j]) || text[j] == '_' ||
                                (text[j] == '.' && j + 1 < text.size() && IsDigit(text[j + 1])));
      const bool special = octets[0] == 0 || octets[0] == 127 ||
                           (octets[0] == 255 && octets[1] == 255 && octets[2] == 255);
      if (parsed == 4 && ends && !special) {
        out += Placeholder("ip", ips_, std::string(text.substr(i, j - i)));
        i = j;
        continue;
      }
      // Skip the whole digit-and-dot run so that its tail is not read as an address.
      j = i;
      while (j < text.size() && (IsDigit(text[j]) || text[j] == '.')) ++j;
      out.append(text.substr(i, j - i));
      i = j;
      continue;
    }
    out += text[i++];
  }
  return out;
}

std::string Redactor::Patterns(std::string_view text) {
  // Line by line, so that placeholders are numbered in the order addresses appear. Host names
  // first (a name may contain digits and dots that look like an address), MACs before IPv6 (a
  // MAC is colon-separated hex too).
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    out += Ipv4(Ipv6(Macs(HostNames(text.substr(0, end)))));
    text.remove_prefix(end);
  }
  return out;
}

std::string Redactor::Text(std::string_view text) {
  return Patterns(agent::RedactProcessIdentities(text));
}

std::string Redactor::Json(std::string_view text) {
  nlohmann::ordered_json json = nlohmann::ordered_json::parse(text, nullptr, false);
  if (json.is_discarded()) return Text(text);
  agent::RedactProcessIdentities(json);
  return Patterns(json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)) +
         "\n";
}

Expected<std::string> Redactor::File(std::string_view name, std::string_view content) {
  if (name.ends_with(".gz")) {
    // nvidia-bug-report.log.gz: a few MB of text, tens at most.
    Expected<std::string> text = Gunzip(content, std::size_t{1} << 30);
    if (!text) return text.error();
    return Gzip(Text(*text));
  }
  return name.ends_with(".json") ? Json(content) : Text(content);
}

}  // namespace nodehealth::bundle
