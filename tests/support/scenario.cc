#include "tests/support/scenario.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#ifndef NODEHEALTH_PEER_FIXTURES_DIR
#define NODEHEALTH_PEER_FIXTURES_DIR ""
#endif

namespace nodehealth::testing {
namespace {

std::string Expand(std::string text, const std::string& here) {
  for (const auto& [var, value] :
       {std::pair<std::string, std::string>{"${PEER}", PeerFixturesDir()}, {"${HERE}", here}}) {
    for (std::size_t at = text.find(var); at != std::string::npos; at = text.find(var, at)) {
      text.replace(at, var.size(), value);
      at += value.size();
    }
  }
  return text;
}

void ExpandAll(toml::node& node, const std::string& here) {
  if (auto* s = node.as_string()) {
    *s = Expand(s->get(), here);
  } else if (auto* t = node.as_table()) {
    for (auto&& [k, v] : *t) ExpandAll(v, here);
  } else if (auto* a = node.as_array()) {
    for (auto& v : *a) ExpandAll(v, here);
  }
}

void Merge(toml::table& base, const toml::table& overlay) {
  for (const auto& [key, value] : overlay) {
    toml::node* existing = base.get(key.str());
    if (existing && existing->is_table() && value.is_table()) {
      Merge(*existing->as_table(), *value.as_table());
    } else {
      base.insert_or_assign(key.str(), value);
    }
  }
}

}  // namespace

std::string PeerFixturesDir() {
  if (const char* env = std::getenv("NODEHEALTH_PEER_FIXTURES"); env && *env) return env;
  return NODEHEALTH_PEER_FIXTURES_DIR;
}

Expected<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return MakeError("cannot open " + path + ": " + std::strerror(errno), errno);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

Expected<toml::table> LoadScenario(const std::string& path) {
  Expected<std::string> text = ReadWholeFile(path);
  if (!text) return text.error();
  toml::table table;
  try {
    table = toml::parse(*text, path);
  } catch (const toml::parse_error& e) {
    return MakeError(path + ":" + std::to_string(e.source().begin.line) + ": " +
                     std::string(e.description()));
  }
  const std::string here =
      path.substr(0, path.rfind('/') == std::string::npos ? 0 : path.rfind('/'));
  ExpandAll(table, here.empty() ? "." : here);
  if (const toml::node* parent = table.get("extends")) {
    if (!parent->is_string()) return MakeError(path + ": extends must be a string");
    std::string parent_path = parent->as_string()->get();
    if (!parent_path.starts_with("/"))
      parent_path = (here.empty() ? "." : here) + "/" + parent_path;
    Expected<toml::table> base = LoadScenario(parent_path);
    if (!base) return base.error();
    table.erase("extends");
    Merge(*base, table);
    return base;
  }
  return table;
}

}  // namespace nodehealth::testing
