#include "agent/config/toml_reader.h"

#include <sstream>

#include "probes/platform/regular_file.h"
#include "probes/platform/sysfs_values.h"

namespace nodehealth {

void StrictTomlReader::Walk(const toml::table& table, const std::string& prefix,
                            const Handlers& handlers) const {
  for (const auto& [key, node] : table) {
    const std::string full =
        prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    const auto handler = handlers.find(key.str());
    if (handler == handlers.end()) {
      const auto line = key.source().begin.line;
      throw TomlReadError{origin_ + ":" + (line > 0 ? std::to_string(line) : "?") +
                          ": unknown key \"" + full + "\""};
    }
    handler->second(node, full);
  }
}

void StrictTomlReader::Fail(const toml::node& node, const std::string& what) const {
  const auto line = node.source().begin.line;
  throw TomlReadError{origin_ + ":" + (line > 0 ? std::to_string(line) : "?") + ": " + what};
}

const toml::table& StrictTomlReader::Table(const toml::node& node, const std::string& key) const {
  if (!node.is_table()) Fail(node, "\"" + key + "\" must be a table ([" + key + "])");
  return *node.as_table();
}

std::string StrictTomlReader::String(const toml::node& node, const std::string& key) const {
  if (!node.is_string()) Fail(node, "\"" + key + "\" must be a string");
  return std::string(node.as_string()->get());
}

std::vector<std::string> StrictTomlReader::StringList(const toml::node& node,
                                                      const std::string& key) const {
  if (node.is_string()) return {String(node, key)};
  if (!node.is_array()) Fail(node, "\"" + key + "\" must be a string or a list of strings");
  std::vector<std::string> out;
  for (const toml::node& item : *node.as_array()) out.push_back(String(item, key));
  return out;
}

int64_t StrictTomlReader::Integer(const toml::node& node, const std::string& key, int64_t min,
                                  int64_t max) const {
  if (!node.is_integer()) Fail(node, "\"" + key + "\" must be an integer");
  const int64_t value = node.as_integer()->get();
  if (value < min || value > max) {
    Fail(node, "\"" + key + "\" = " + std::to_string(value) + " is outside " + std::to_string(min) +
                   ".." + std::to_string(max));
  }
  return value;
}

double StrictTomlReader::Number(const toml::node& node, const std::string& key, double min,
                                double max) const {
  double value = 0;
  if (node.is_integer()) {
    value = static_cast<double>(node.as_integer()->get());
  } else if (node.is_floating_point()) {
    value = node.as_floating_point()->get();
  } else {
    Fail(node, "\"" + key + "\" must be a number");
  }
  if (!(value >= min && value <= max)) {  // also rejects NaN
    std::ostringstream text;
    text << "\"" << key << "\" = " << value << " is outside " << min << ".." << max;
    Fail(node, text.str());
  }
  return value;
}

bool StrictTomlReader::Bool(const toml::node& node, const std::string& key) const {
  if (!node.is_boolean()) Fail(node, "\"" + key + "\" must be true or false");
  return node.as_boolean()->get();
}

std::string StrictTomlReader::Version(const toml::node& node, const std::string& key) const {
  std::string value = String(node, key);
  if (!platform::CompareDottedVersions(value, value)) {
    Fail(node, "\"" + key + "\" = \"" + value + "\" is not a dotted numeric version");
  }
  return value;
}

Expected<std::string> ReadSmallFile(const std::string& path, std::string_view what) {
  return platform::ReadRegularFile(path, 1u << 20, what);
}

}  // namespace nodehealth
