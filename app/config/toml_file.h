#pragma once
/// Reading TOML files with errors that name the file, line and key: the run configuration, the
/// study files and the benchmark files all read through these.
#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "app/config/config.h"

namespace jeffreys::app {

[[noreturn]] inline void toml_fail(const std::string& file, const toml::node* node, const std::string& key,
                              const std::string& what) {
  std::ostringstream s;
  s << file;
  if (node != nullptr && node->source().begin.line > 0) s << ":" << node->source().begin.line;
  s << ": key '" << key << "': " << what;
  throw ConfigError(s.str());
}

/// Parses `path`; a missing file or a syntax error is a ConfigError with the file and line.
inline toml::table parse_toml_file(const std::string& path) {
  if (!std::filesystem::exists(path)) throw ConfigError(path + ": file not found");
  // A folder or a device (/dev/zero) is not a configuration: refused rather than read as empty.
  if (!std::filesystem::is_regular_file(path)) throw ConfigError(path + ": not a regular file");
  try {
    return toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream s;
    s << path << ":" << e.source().begin.line << ": " << e.description();
    throw ConfigError(s.str());
  }
}

/// Reads an array of one type (strings, numbers, or integers >= 0) at `key` of `t`; empty if absent.
template <typename T>
std::vector<T> read_toml_list(const std::string& file, const toml::table& t, const std::string& key, const std::string& where) {
  std::vector<T> out;
  const toml::node* n = t.get(key);
  if (n == nullptr) return out;
  if (!n->is_array()) toml_fail(file, n, where + key, "must be an array");
  for (const auto& e : *n->as_array()) {
    if constexpr (std::is_same_v<T, std::string>) {
      if (!e.is_string()) toml_fail(file, &e, where + key, "must be an array of strings");
      out.push_back(*e.value<std::string>());
    } else if constexpr (std::is_same_v<T, double>) {
      if (!e.is_number()) toml_fail(file, &e, where + key, "must be an array of numbers");
      out.push_back(e.is_integer() ? static_cast<double>(*e.value<int64_t>()) : *e.value<double>());
    } else {
      if (!e.is_integer() || *e.value<int64_t>() < 0) toml_fail(file, &e, where + key, "must be an array of integers >= 0");
      out.push_back(static_cast<T>(*e.value<int64_t>()));
    }
  }
  return out;
}

/// Rejects keys of `t` not in `known`, listing them.
inline void only_known_keys(const std::string& file, const toml::table& t, const std::string& where,
                 const std::set<std::string>& known) {
  for (const auto& [k, node] : t)
    if (!known.count(std::string(k.str()))) {
      std::string list;
      for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
      toml_fail(file, &node, where + std::string(k.str()), "unknown key (known here: " + list + ")");
    }
}

}  // namespace jeffreys::app
