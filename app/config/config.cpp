#include "app/config/config.h"

#include <algorithm>

#include "app/config/schema.h"
#include "jeffreys/constrained/method_name.h"
#include "app/config/toml_file.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

namespace jeffreys::app {
namespace {

/// Walks a parsed TOML document, reading known keys into the Config and rejecting anything else
/// with the file, line and key.
class Reader {
 public:
  Reader(std::string file, std::map<std::string, std::string> overrides)
      : file_(std::move(file)), overrides_(std::move(overrides)) {}

  /// A key set by --set is reported as the --set argument; any other at its file and line.
  [[noreturn]] void fail(const std::string& key, const toml::node* node, const std::string& what) const {
    auto ov = overrides_.find(key);
    if (ov != overrides_.end()) throw ConfigError("--set " + ov->second + ": key '" + key + "': " + what);
    toml_fail(file_.empty() ? std::string("<defaults>") : file_, node, key, what);
  }

  /// Rejects keys of `table` not in `known`.
  void only(const toml::table& table, const std::string& prefix, const std::set<std::string>& known) const {
    for (const auto& [k, node] : table) {
      const std::string key(k.str());
      if (!known.count(key)) {
        std::string list;
        for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
        fail(prefix + key, &node, "unknown key (known here: " + list + ")");
      }
    }
  }

  const toml::table* sub(const toml::table& t, const std::string& name, const std::string& prefix) const {
    const toml::node* n = t.get(name);
    if (n == nullptr) return nullptr;
    if (!n->is_table()) fail(prefix + name, n, std::string("must be a table, got ") + type_name(*n));
    return n->as_table();
  }

  void read(const toml::table& t, const std::string& prefix, const std::string& name, std::string& out) const {
    if (const auto* n = t.get(name)) {
      if (!n->is_string()) fail(prefix + name, n, std::string("must be a string, got ") + type_name(*n));
      out = n->value<std::string>().value();
    }
  }
  void read(const toml::table& t, const std::string& prefix, const std::string& name, int64_t& out) const {
    if (const auto* n = t.get(name)) {
      if (!n->is_integer()) fail(prefix + name, n, std::string("must be an integer, got ") + type_name(*n));
      out = n->value<int64_t>().value();
    }
  }
  void read(const toml::table& t, const std::string& prefix, const std::string& name, uint64_t& out) const {
    int64_t v = static_cast<int64_t>(out);
    read(t, prefix, name, v);
    if (v < 0) fail(prefix + name, t.get(name), "must be >= 0");
    out = static_cast<uint64_t>(v);
  }
  void read(const toml::table& t, const std::string& prefix, const std::string& name, double& out) const {
    if (const auto* n = t.get(name)) {
      if (!n->is_number()) fail(prefix + name, n, std::string("must be a number, got ") + type_name(*n));
      out = n->is_integer() ? static_cast<double>(n->value<int64_t>().value()) : n->value<double>().value();
      if (!std::isfinite(out)) fail(prefix + name, n, "must be finite");
    }
  }
  void read(const toml::table& t, const std::string& prefix, const std::string& name, bool& out) const {
    if (const auto* n = t.get(name)) {
      if (!n->is_boolean()) fail(prefix + name, n, std::string("must be true or false, got ") + type_name(*n));
      out = n->value<bool>().value();
    }
  }

  template <typename T>
  void require(bool ok, const toml::table* t, const std::string& prefix, const std::string& name, const T& why) const {
    if (ok) return;
    const toml::node* n = t ? t->get(name) : nullptr;
    // A missing key is reported at its table's line.
    fail(prefix + name, n != nullptr ? n : t, why);
  }

  static const char* type_name(const toml::node& n) {
    switch (n.type()) {
      case toml::node_type::string: return "a string";
      case toml::node_type::integer: return "an integer";
      case toml::node_type::floating_point: return "a float";
      case toml::node_type::boolean: return "a boolean";
      case toml::node_type::table: return "a table";
      case toml::node_type::array: return "an array";
      default: return "a date/time";
    }
  }

 private:
  std::string file_;
  std::map<std::string, std::string> overrides_;
};

void insert_override(toml::table& root, const std::string& text, std::map<std::string, std::string>& seen) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--set " + text + ": expected key=value, e.g. --set flow.layers=4");
  const std::string key = text.substr(0, eq);
  std::string value = text.substr(eq + 1);
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    // A bare word is a string: --set data.name=two-moons.
    std::ostringstream quoted;
    quoted << std::quoted(value);
    try {
      parsed = toml::parse("v = " + quoted.str());
    } catch (const toml::parse_error& e) {
      throw ConfigError("--set " + text + ": cannot read the value: " + std::string(e.description()));
    }
  }
  toml::table* t = &root;
  std::stringstream parts(key);
  std::string part, prefix;
  std::vector<std::string> path;
  while (std::getline(parts, part, '.')) path.push_back(part);
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    prefix += path[i] + ".";
    auto* n = t->get(path[i]);
    if (n == nullptr) {
      t->insert(path[i], toml::table{});
      n = t->get(path[i]);
    }
    if (!n->is_table()) throw ConfigError("--set " + text + ": '" + prefix.substr(0, prefix.size() - 1) + "' is not a table");
    t = n->as_table();
  }
  t->insert_or_assign(path.back(), *parsed.get("v"));
  seen[key] = text;
}

constrained::Constraint read_constraint(const Reader& r, const toml::table& t, const std::string& prefix) {
  constrained::Constraint c;
  r.only(t, prefix, {"term", "level", "relative_to", "entropy_level", "resilient", "slack_cost", "dual_lr", "dual_init"});
  r.read(t, prefix, "term", c.term);
  r.read(t, prefix, "level", c.level);
  r.read(t, prefix, "relative_to", c.relative_to);
  r.read(t, prefix, "entropy_level", c.entropy_level);
  r.read(t, prefix, "resilient", c.resilient);
  r.read(t, prefix, "slack_cost", c.slack_cost);
  r.read(t, prefix, "dual_lr", c.dual_lr);
  r.read(t, prefix, "dual_init", c.dual_init);
  r.require(!c.term.empty(), &t, prefix, "term", "every constraint needs a term (F, P, R or W)");
  return c;
}

/// Reads one schema key from `t` into `c`.
void read_key(const Reader& r, const toml::table& t, const std::string& prefix, const KeySpec& k, Config& c) {
  std::visit([&](auto get) { r.read(t, prefix, k.name, get(c)); }, k.field);
}

/// Checks the keys of one section (or the top level), reporting at the key's line or, for a key the
/// file does not set, at its table's.
void validate_keys(const Reader& r, const toml::table& t, const std::string& section, const Config& c) {
  const std::string prefix = section.empty() ? "" : section + ".";
  for (const auto& k : config_keys())
    if (k.section == section && k.check) {
      const std::string why = k.check(c);
      r.require(why.empty(), &t, prefix, k.name, why);
    }
}

void read_method_structure(const Reader& r, const toml::table& t, Config& c) {
  if (const auto* o = r.sub(t, "objective", "method.")) {
    c.method.custom_objective = true;
    for (const auto& [k, node] : *o) {
      const std::string term(k.str());
      const auto known = constrained::term_names();
      r.require(std::find(known.begin(), known.end(), term) != known.end(), o, "method.objective.", term,
                "unknown term (F, P, R or W)");
      double w = 0;
      r.read(*o, "method.objective.", term, w);
      c.method.objective[term] = w;
    }
  }
  if (const auto* n = t.get("constraints")) {
    if (!n->is_array_of_tables() && !(n->is_array() && n->as_array()->empty()))
      r.fail("method.constraints", n, "must be an array of tables ([[method.constraints]])");
    c.method.custom_constraints = true;
    size_t i = 0;
    for (const auto& e : *n->as_array())
      c.method.constraints.push_back(read_constraint(r, *e.as_table(), "method.constraints[" + std::to_string(i++) + "]."));
  }
  if (c.method.is_wgan()) {
    r.require(!c.method.custom_objective && !c.method.custom_constraints, &t, "method.", "name",
              "wgan-gp takes no objective or constraints (its settings are in [wgan])");
  } else {
    try {
      if (constrained::parse_method_name(c.method.name).conditional_only())
        r.fail("method.name", t.get("name") ? t.get("name") : &t,
               "-K, -S, -E, -warm and -Hn are suffixes of conditional training (jeffreys sbi); here set "
               "train.flow_samples for -K, and use -Hc for -Hn");
      c.method.formulation().validate(constrained::term_names());
    } catch (const std::invalid_argument& e) {
      r.fail("method", &t, std::string(e.what()) + " (or \"wgan-gp\")");
    }
  }
}

}  // namespace

constrained::Formulation MethodConfig::formulation() const {
  auto f = constrained::parse_method_name(name).formulation;
  if (custom_objective) {
    f.objective.clear();
    for (const auto& [term, w] : objective) f.objective.push_back({term, w});
  }
  if (custom_constraints) f.constraints = constraints;
  return f;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  toml::table root;
  if (!path.empty()) root = parse_toml_file(path);
  std::map<std::string, std::string> seen;
  for (const auto& o : overrides) insert_override(root, o, seen);
  Reader r(path, seen);
  Config c;

  std::set<std::string> top;
  for (const auto& k : config_keys())
    if (k.section.empty()) top.insert(k.name);
  for (const auto& s : config_sections()) top.insert(s.name);
  r.only(root, "", top);
  for (const auto& k : config_keys())
    if (k.section.empty()) read_key(r, root, "", k, c);
  validate_keys(r, root, "", c);

  for (const auto& s : config_sections()) {
    const auto* t = r.sub(root, s.name, "");
    if (t == nullptr) continue;
    const std::string prefix = s.name + ".";
    std::set<std::string> known(s.structured.begin(), s.structured.end());
    for (const auto& k : config_keys())
      if (k.section == s.name) known.insert(k.name);
    r.only(*t, prefix, known);
    for (const auto& k : config_keys())
      if (k.section == s.name) read_key(r, *t, prefix, k, c);
    validate_keys(r, *t, s.name, c);
    if (s.name == "method") read_method_structure(r, *t, c);
  }
  return c;
}

std::string Config::to_toml() const {
  std::ostringstream o;
  o << "# Resolved configuration: every key with the value this run used.\n";
  auto keys_of = [&](const std::string& section) {
    for (const auto& k : config_keys())
      if (k.section == section && (k.written == nullptr || k.written(*this)))
        o << k.name << " = " << toml_value(k, *this) << "\n";
  };
  keys_of("");
  for (const auto& s : config_sections()) {
    if (s.written != nullptr && !s.written(*this)) continue;
    o << "\n[" << s.name << "]\n";
    keys_of(s.name);
    if (s.name == "method" && !method.is_wgan()) {
      // The formulation is written out in full, so the run folder says exactly what was optimised.
      const auto f = method.formulation();
      if (f.constraints.empty()) o << "constraints = []\n";
      o << "\n[method.objective]\n";
      std::map<std::string, double> weights;  // canonical order, so equal formulations print alike
      for (const auto& t : f.objective) weights[t.term] += t.weight;
      for (const auto& [term, w] : weights) o << term << " = " << toml_number(w) << "\n";
      for (const auto& c : f.constraints) {
        o << "\n[[method.constraints]]\nterm = " << toml_string(c.term) << "\nlevel = " << toml_number(c.level)
          << "\nrelative_to = " << toml_string(c.relative_to) << (c.entropy_level ? "\nentropy_level = true" : "")
          << "\nresilient = " << (c.resilient ? "true" : "false")
          << "\nslack_cost = " << toml_number(c.slack_cost) << "\ndual_lr = " << toml_number(c.dual_lr)
          << "\ndual_init = " << toml_number(c.dual_init) << "\n";
      }
    }
  }
  return o.str();
}

std::string first_difference(const Config& a, const Config& b) {
  auto lines = [](const Config& c) {
    // Each line with the table it is in, so that "lr" reads "optim.lr".
    std::vector<std::string> out;
    std::istringstream in(c.to_toml());
    std::string line, table;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      if (line[0] == '[') {
        table = line;
        out.push_back(line);
        continue;
      }
      if (table.empty()) {
        out.push_back(line);
        continue;
      }
      const auto begin = table.find_first_not_of('[');
      out.push_back(table.substr(begin, table.find(']') - begin) + "." + line);
    }
    return out;
  };
  const auto la = lines(a), lb = lines(b);
  for (size_t i = 0; i < std::max(la.size(), lb.size()); ++i) {
    const std::string x = i < la.size() ? la[i] : "(nothing)", y = i < lb.size() ? lb[i] : "(nothing)";
    if (x != y) return "'" + x + "' where the configuration given has '" + y + "'";
  }
  return "";
}

}  // namespace jeffreys::app
