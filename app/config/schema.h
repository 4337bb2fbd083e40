#pragma once
/// The configuration schema: every key of a run configuration declared once, with its type, where
/// it lives in Config (whose field initialiser is its default), its bounds and its help. The TOML
/// reader, --set, validation, the resolved config.toml, `jeffreys keys` and the README's key table
/// are all made from this table; adding a key means adding one line here and one field in Config.
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "app/config/config.h"
#include "app/config/names.h"

namespace jeffreys::app {

/// Where a key's value lives in a Config.
using KeyField = std::variant<int64_t& (*)(Config&), uint64_t& (*)(Config&), double& (*)(Config&), bool& (*)(Config&),
                              std::string& (*)(Config&)>;

struct KeySpec {
  KeySpec(std::string section, std::string name, KeyField field, std::function<std::string(const Config&)> check,
          std::string help, bool (*written)(const Config&) = nullptr, std::optional<NameKind> names = std::nullopt)
      : section(std::move(section)),
        name(std::move(name)),
        field(field),
        check(std::move(check)),
        help(std::move(help)),
        written(written),
        names(names) {}

  std::string section;  ///< "" for top-level keys
  std::string name;
  KeyField field;
  /// The bound or choice the value must meet: an error message ("must be >= 1"), empty when it does.
  /// Sees the whole configuration, for keys that depend on another (data.csv on data.name).
  std::function<std::string(const Config&)> check;
  std::string help;
  /// Written to config.toml only when this says so (keys added later, so that older resolved
  /// configurations compare equal); null: always.
  bool (*written)(const Config&) = nullptr;
  /// A name of the registry (app/config/names.h): the check and the help's list of choices come from it.
  std::optional<NameKind> names;

  std::string key() const { return section.empty() ? name : section + "." + name; }
};

struct SectionSpec {
  std::string name;
  std::string help;
  /// Written to config.toml only when this says so; null: always.
  bool (*written)(const Config&) = nullptr;
  /// Structured keys of the section that Config reads and writes itself ([method]'s objective and constraints).
  std::vector<std::string> structured;
};

/// Every key, sections in file order, keys in their section's order.
const std::vector<KeySpec>& config_keys();
const std::vector<SectionSpec>& config_sections();

/// A number as the resolved file writes it: 17 significant digits, always with a decimal point.
std::string toml_number(double v);
/// A string as the resolved file writes it: quoted and escaped.
std::string toml_string(const std::string& s);

/// The value of `spec` in `c` as TOML ("8", "1e-3" written as 0.001, "\"cpu\"", "true").
std::string toml_value(const KeySpec& spec, const Config& c);

/// A key's help, with the registry's choices for a name key.
std::string key_help(const KeySpec& spec);

/// The README's key table (markdown): key, default, meaning; `jeffreys keys` prints it.
std::string config_keys_markdown();

}  // namespace jeffreys::app
