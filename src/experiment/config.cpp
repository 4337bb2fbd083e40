#include "jeffreys/experiment/config.h"

#include <toml++/toml.h>

#include "jeffreys/flows/presets.h"
#include "jeffreys/nn/activation.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

namespace jeffreys::experiment {
namespace {

/// Walks a parsed TOML document, reading known keys into the Config and rejecting anything else
/// with the file, line and key.
class Reader {
 public:
  Reader(std::string file, std::map<std::string, std::string> overrides)
      : file_(std::move(file)), overrides_(std::move(overrides)) {}

  [[noreturn]] void fail(const std::string& key, const toml::node* node, const std::string& what) const {
    std::ostringstream s;
    auto ov = overrides_.find(key);
    if (ov != overrides_.end()) {
      s << "--set " << ov->second;
    } else {
      s << (file_.empty() ? std::string("<defaults>") : file_);
      if (node != nullptr && node->source().begin.line > 0) s << ":" << node->source().begin.line;
    }
    s << ": key '" << key << "': " << what;
    throw ConfigError(s.str());
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

  /// Checks a name with the library's own parser, whose error lists the valid choices.
  template <typename Parse>
  void require_parses(const toml::table* t, const std::string& prefix, const std::string& name,
                      const std::string& value, Parse parse) const {
    try {
      parse(value);
    } catch (const std::invalid_argument& e) {
      require(false, t, prefix, name, e.what());
    }
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
  r.only(t, prefix, {"term", "level", "relative_to", "resilient", "slack_cost", "dual_lr", "dual_init"});
  r.read(t, prefix, "term", c.term);
  r.read(t, prefix, "level", c.level);
  r.read(t, prefix, "relative_to", c.relative_to);
  r.read(t, prefix, "resilient", c.resilient);
  r.read(t, prefix, "slack_cost", c.slack_cost);
  r.read(t, prefix, "dual_lr", c.dual_lr);
  r.read(t, prefix, "dual_init", c.dual_init);
  r.require(!c.term.empty(), &t, prefix, "term", "every constraint needs a term (F, P or R)");
  return c;
}

bool one_of(const std::string& v, std::initializer_list<const char*> choices) {
  for (const char* c : choices)
    if (v == c) return true;
  return false;
}

std::string choices(std::initializer_list<const char*> cs) {
  std::string s;
  for (const char* c : cs) s += (s.empty() ? "" : ", ") + std::string(c);
  return "must be one of " + s;
}

}  // namespace

constrained::Formulation MethodConfig::formulation() const {
  auto f = constrained::formulation_by_name(name);
  if (custom_objective) {
    f.objective.clear();
    for (const auto& [term, w] : objective) f.objective.push_back({term, w});
  }
  if (custom_constraints) f.constraints = constraints;
  return f;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  toml::table root;
  if (!path.empty()) {
    if (!std::filesystem::exists(path)) throw ConfigError(path + ": file not found");
    try {
      root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      std::ostringstream s;
      s << path << ":" << e.source().begin.line << ": " << e.description();
      throw ConfigError(s.str());
    }
  }
  std::map<std::string, std::string> seen;
  for (const auto& o : overrides) insert_override(root, o, seen);
  Reader r(path, seen);
  Config c;

  r.only(root, "", {"seed", "device", "threads", "data", "flow", "energy", "method", "wgan", "optim", "train", "eval"});
  r.read(root, "", "seed", c.seed);
  r.read(root, "", "device", c.device);
  r.read(root, "", "threads", c.threads);
  r.require(c.threads >= 1, &root, "", "threads", "must be >= 1");
  r.require(c.device == "cpu" || c.device.rfind("cuda", 0) == 0, &root, "", "device", "must be cpu or cuda[:N]");

  if (const auto* t = r.sub(root, "data", "")) {
    r.only(*t, "data.", {"name", "csv", "test_csv", "n_train", "validation_fraction"});
    r.read(*t, "data.", "name", c.data.name);
    r.read(*t, "data.", "csv", c.data.csv);
    r.read(*t, "data.", "test_csv", c.data.test_csv);
    r.read(*t, "data.", "n_train", c.data.n_train);
    r.read(*t, "data.", "validation_fraction", c.data.validation_fraction);
    r.require(c.data.n_train >= 2, t, "data.", "n_train", "must be >= 2");
    r.require(c.data.validation_fraction > 0 && c.data.validation_fraction < 1, t, "data.", "validation_fraction",
              "must be in (0, 1)");
    r.require(c.data.name != "csv" || !c.data.csv.empty(), t, "data.", "csv", "must name a file when data.name = \"csv\"");
    r.require(c.data.test_csv.empty() || c.data.name == "csv", t, "data.", "test_csv", "needs data.name = \"csv\"");
  }
  if (const auto* t = r.sub(root, "flow", "")) {
    r.only(*t, "flow.", {"family", "layers", "hidden", "depth", "activation", "bins", "bound", "scale_clamp", "actnorm",
                         "lu_linear", "permutation"});
    r.read(*t, "flow.", "family", c.flow.family);
    r.read(*t, "flow.", "layers", c.flow.layers);
    r.read(*t, "flow.", "hidden", c.flow.hidden);
    r.read(*t, "flow.", "depth", c.flow.depth);
    r.read(*t, "flow.", "activation", c.flow.activation);
    r.read(*t, "flow.", "bins", c.flow.bins);
    r.read(*t, "flow.", "bound", c.flow.bound);
    r.read(*t, "flow.", "scale_clamp", c.flow.scale_clamp);
    r.read(*t, "flow.", "actnorm", c.flow.actnorm);
    r.read(*t, "flow.", "lu_linear", c.flow.lu_linear);
    r.read(*t, "flow.", "permutation", c.flow.permutation);
    r.require(one_of(c.flow.family, {"realnvp", "nsf", "maf", "maf-spline"}), t, "flow.", "family",
              choices({"realnvp", "nsf", "maf", "maf-spline"}));
    r.require(c.flow.layers >= 1, t, "flow.", "layers", "must be >= 1");
    r.require(c.flow.hidden >= 1, t, "flow.", "hidden", "must be >= 1");
    r.require(c.flow.depth >= 1, t, "flow.", "depth", "must be >= 1");
    r.require(c.flow.bins >= 2, t, "flow.", "bins", "must be >= 2");
    r.require(c.flow.bound > 0, t, "flow.", "bound", "must be > 0");
    r.require_parses(t, "flow.", "permutation", c.flow.permutation, flows::permutation_from_string);
    r.require_parses(t, "flow.", "activation", c.flow.activation, nn::activation_from_string);
  }
  if (const auto* t = r.sub(root, "energy", "")) {
    r.only(*t, "energy.", {"hidden", "depth", "activation"});
    r.read(*t, "energy.", "hidden", c.energy.hidden);
    r.read(*t, "energy.", "depth", c.energy.depth);
    r.read(*t, "energy.", "activation", c.energy.activation);
    r.require(c.energy.hidden >= 1, t, "energy.", "hidden", "must be >= 1");
    r.require(c.energy.depth >= 1, t, "energy.", "depth", "must be >= 1");
    r.require_parses(t, "energy.", "activation", c.energy.activation, nn::activation_from_string);
  }
  if (const auto* t = r.sub(root, "method", "")) {
    r.only(*t, "method.", {"name", "objective", "constraints"});
    r.read(*t, "method.", "name", c.method.name);
    if (const auto* o = r.sub(*t, "objective", "method.")) {
      c.method.custom_objective = true;
      for (const auto& [k, node] : *o) {
        const std::string term(k.str());
        r.require(one_of(term, {"F", "P", "R"}), o, "method.objective.", term, "unknown term (F, P or R)");
        double w = 0;
        r.read(*o, "method.objective.", term, w);
        c.method.objective[term] = w;
      }
    }
    if (const auto* n = t->get("constraints")) {
      if (!n->is_array_of_tables() && !(n->is_array() && n->as_array()->empty()))
        r.fail("method.constraints", n, "must be an array of tables ([[method.constraints]])");
      c.method.custom_constraints = true;
      size_t i = 0;
      for (const auto& e : *n->as_array())
        c.method.constraints.push_back(
            read_constraint(r, *e.as_table(), "method.constraints[" + std::to_string(i++) + "]."));
    }
    if (c.method.is_wgan()) {
      r.require(!c.method.custom_objective && !c.method.custom_constraints, t, "method.", "name",
                "wgan-gp takes no objective or constraints (its settings are in [wgan])");
    } else {
      try {
        c.method.formulation().validate({"F", "P", "R"});
      } catch (const std::invalid_argument& e) {
        r.fail("method", t, std::string(e.what()) + " (or \"wgan-gp\")");
      }
    }
  }
  if (const auto* t = r.sub(root, "wgan", "")) {
    r.only(*t, "wgan.", {"critic_hidden", "critic_depth", "critic_steps", "gp_weight"});
    r.read(*t, "wgan.", "critic_hidden", c.wgan.critic_hidden);
    r.read(*t, "wgan.", "critic_depth", c.wgan.critic_depth);
    r.read(*t, "wgan.", "critic_steps", c.wgan.critic_steps);
    r.read(*t, "wgan.", "gp_weight", c.wgan.gp_weight);
    r.require(c.wgan.critic_hidden >= 1, t, "wgan.", "critic_hidden", "must be >= 1");
    r.require(c.wgan.critic_depth >= 1, t, "wgan.", "critic_depth", "must be >= 1");
    r.require(c.wgan.critic_steps >= 1, t, "wgan.", "critic_steps", "must be >= 1");
    r.require(c.wgan.gp_weight >= 0, t, "wgan.", "gp_weight", "must be >= 0");
  }
  if (const auto* t = r.sub(root, "optim", "")) {
    r.only(*t, "optim.", {"lr", "lr_proxy", "beta1", "beta2", "weight_decay", "clip_grad_norm", "schedule",
                          "warmup_steps", "min_lr_factor"});
    r.read(*t, "optim.", "lr", c.optim.lr);
    r.read(*t, "optim.", "lr_proxy", c.optim.lr_proxy);
    r.read(*t, "optim.", "beta1", c.optim.beta1);
    r.read(*t, "optim.", "beta2", c.optim.beta2);
    r.read(*t, "optim.", "weight_decay", c.optim.weight_decay);
    r.read(*t, "optim.", "clip_grad_norm", c.optim.clip_grad_norm);
    r.read(*t, "optim.", "schedule", c.optim.schedule);
    r.read(*t, "optim.", "warmup_steps", c.optim.warmup_steps);
    r.read(*t, "optim.", "min_lr_factor", c.optim.min_lr_factor);
    r.require(c.optim.lr > 0, t, "optim.", "lr", "must be > 0");
    r.require(c.optim.lr_proxy > 0, t, "optim.", "lr_proxy", "must be > 0");
    r.require(c.optim.beta1 >= 0 && c.optim.beta1 < 1, t, "optim.", "beta1", "must be in [0, 1)");
    r.require(c.optim.beta2 >= 0 && c.optim.beta2 < 1, t, "optim.", "beta2", "must be in [0, 1)");
    r.require(c.optim.weight_decay >= 0, t, "optim.", "weight_decay", "must be >= 0");
    r.require(c.optim.clip_grad_norm >= 0, t, "optim.", "clip_grad_norm", "must be >= 0 (0 = off)");
    r.require(one_of(c.optim.schedule, {"constant", "cosine"}), t, "optim.", "schedule", choices({"constant", "cosine"}));
    r.require(c.optim.warmup_steps >= 0, t, "optim.", "warmup_steps", "must be >= 0");
  }
  if (const auto* t = r.sub(root, "train", "")) {
    r.only(*t, "train.", {"steps", "batch_size", "flow_samples", "log_every", "eval_every", "checkpoint_every",
                          "divergence_threshold"});
    r.read(*t, "train.", "steps", c.train.steps);
    r.read(*t, "train.", "batch_size", c.train.batch_size);
    r.read(*t, "train.", "flow_samples", c.train.flow_samples);
    r.read(*t, "train.", "log_every", c.train.log_every);
    r.read(*t, "train.", "eval_every", c.train.eval_every);
    r.read(*t, "train.", "checkpoint_every", c.train.checkpoint_every);
    r.read(*t, "train.", "divergence_threshold", c.train.divergence_threshold);
    r.require(c.train.steps >= 1, t, "train.", "steps", "must be >= 1");
    r.require(c.train.batch_size >= 1, t, "train.", "batch_size", "must be >= 1");
    r.require(c.train.flow_samples >= 2, t, "train.", "flow_samples", "must be >= 2");
    r.require(c.train.log_every >= 1, t, "train.", "log_every", "must be >= 1");
    r.require(c.train.eval_every >= 1, t, "train.", "eval_every", "must be >= 1");
    r.require(c.train.checkpoint_every >= 1, t, "train.", "checkpoint_every", "must be >= 1");
    r.require(c.train.divergence_threshold > 0, t, "train.", "divergence_threshold", "must be > 0");
  }
  if (const auto* t = r.sub(root, "eval", "")) {
    r.only(*t, "eval.", {"n_test", "log_z_samples", "grid", "mmd_samples"});
    r.read(*t, "eval.", "n_test", c.eval.n_test);
    r.read(*t, "eval.", "log_z_samples", c.eval.log_z_samples);
    r.read(*t, "eval.", "grid", c.eval.grid);
    r.read(*t, "eval.", "mmd_samples", c.eval.mmd_samples);
    r.require(c.eval.n_test >= 10, t, "eval.", "n_test", "must be >= 10");
    r.require(c.eval.log_z_samples >= 100, t, "eval.", "log_z_samples", "must be >= 100");
    r.require(c.eval.grid >= 8, t, "eval.", "grid", "must be >= 8");
    r.require(c.eval.mmd_samples >= 10, t, "eval.", "mmd_samples", "must be >= 10");
  }
  return c;
}

namespace {
std::string q(const std::string& s) {
  std::ostringstream o;
  o << std::quoted(s);
  return o.str();
}
std::string num(double v) {
  std::ostringstream o;
  o << std::setprecision(17) << v;
  std::string s = o.str();
  if (s.find_first_of(".eE") == std::string::npos && s.find("inf") == std::string::npos && s.find("nan") == std::string::npos)
    s += ".0";
  return s;
}
const char* b(bool v) { return v ? "true" : "false"; }
}  // namespace

std::string Config::to_toml() const {
  std::ostringstream o;
  o << "# Resolved configuration: every key with the value this run used.\n";
  o << "seed = " << seed << "\ndevice = " << q(device) << "\nthreads = " << threads << "\n\n";
  o << "[data]\nname = " << q(data.name) << "\ncsv = " << q(data.csv) << "\nn_train = " << data.n_train
    << "\nvalidation_fraction = " << num(data.validation_fraction) << "\n";
  // Written only when set, so configurations resolved before the key existed compare equal.
  if (!data.test_csv.empty()) o << "test_csv = " << q(data.test_csv) << "\n";
  o << "\n";
  o << "[flow]\nfamily = " << q(flow.family) << "\nlayers = " << flow.layers << "\nhidden = " << flow.hidden
    << "\ndepth = " << flow.depth << "\nactivation = " << q(flow.activation) << "\nbins = " << flow.bins
    << "\nbound = " << num(flow.bound) << "\nscale_clamp = " << num(flow.scale_clamp) << "\nactnorm = " << b(flow.actnorm)
    << "\nlu_linear = " << b(flow.lu_linear) << "\npermutation = " << q(flow.permutation) << "\n\n";
  o << "[energy]\nhidden = " << energy.hidden << "\ndepth = " << energy.depth << "\nactivation = " << q(energy.activation)
    << "\n\n";
  o << "[method]\nname = " << q(method.name) << "\n";
  if (method.is_wgan()) {
    o << "\n[wgan]\ncritic_hidden = " << wgan.critic_hidden << "\ncritic_depth = " << wgan.critic_depth
      << "\ncritic_steps = " << wgan.critic_steps << "\ngp_weight = " << num(wgan.gp_weight) << "\n";
  } else {
  // The formulation is written out in full, so the run folder says exactly what was optimised.
  const auto f = method.formulation();
  if (f.constraints.empty()) o << "constraints = []\n";
  o << "\n[method.objective]\n";
  std::map<std::string, double> weights;  // canonical order, so equal formulations print alike
  for (const auto& t : f.objective) weights[t.term] += t.weight;
  for (const auto& [term, w] : weights) o << term << " = " << num(w) << "\n";
  for (const auto& c : f.constraints) {
    o << "\n[[method.constraints]]\nterm = " << q(c.term) << "\nlevel = " << num(c.level)
      << "\nrelative_to = " << q(c.relative_to) << "\nresilient = " << b(c.resilient)
      << "\nslack_cost = " << num(c.slack_cost) << "\ndual_lr = " << num(c.dual_lr) << "\ndual_init = " << num(c.dual_init)
      << "\n";
  }
  }
  o << "\n[optim]\nlr = " << num(optim.lr) << "\nlr_proxy = " << num(optim.lr_proxy) << "\nbeta1 = " << num(optim.beta1)
    << "\nbeta2 = " << num(optim.beta2) << "\nweight_decay = " << num(optim.weight_decay)
    << "\nclip_grad_norm = " << num(optim.clip_grad_norm) << "\nschedule = " << q(optim.schedule)
    << "\nwarmup_steps = " << optim.warmup_steps << "\nmin_lr_factor = " << num(optim.min_lr_factor) << "\n\n";
  o << "[train]\nsteps = " << train.steps << "\nbatch_size = " << train.batch_size << "\nflow_samples = " << train.flow_samples
    << "\nlog_every = " << train.log_every << "\neval_every = " << train.eval_every
    << "\ncheckpoint_every = " << train.checkpoint_every << "\ndivergence_threshold = " << num(train.divergence_threshold)
    << "\n\n";
  o << "[eval]\nn_test = " << eval.n_test << "\nlog_z_samples = " << eval.log_z_samples << "\ngrid = " << eval.grid
    << "\nmmd_samples = " << eval.mmd_samples << "\n";
  return o.str();
}

}  // namespace jeffreys::experiment
