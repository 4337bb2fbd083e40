#include "app/config/schema.h"

#include <charconv>
#include <iomanip>
#include <sstream>

#include "app/config/names.h"

namespace jeffreys::app {
namespace {

// A key's place in Config, as a function pointer the variant can hold.
#define JEFFREYS_FIELD(T, member) static_cast<T& (*)(Config&)>([](Config& c) -> T& { return c.member; })

using Check = std::function<std::string(const Config&)>;

#define IN_RANGE(member, lo, hi)                                                                     \
  Check([](const Config& c) {                                                                          \
    return c.member >= lo && c.member <= hi ? std::string() : std::string("must be in [" #lo ", " #hi "]"); \
  })
#define IN_OPEN_CLOSED(member, lo, hi)                                                                  \
  Check([](const Config& c) {                                                                          \
    return c.member > lo && c.member <= hi ? std::string() : std::string("must be in (" #lo ", " #hi "]"); \
  })
#define ABOVE(member, bound) \
  Check([](const Config& c) { return c.member > bound ? std::string() : std::string("must be > " #bound); })

/// A key whose value is a name of the registry: its check and the choices its help lists both come
/// from `kind`.
KeySpec name_key(std::string section, std::string name, std::string& (*field)(Config&), NameKind kind,
                 std::string help) {
  Check check = [field, kind](const Config& c) {
    // The accessor gives a reference; nothing is written.
    return is_name(kind, field(const_cast<Config&>(c))) ? std::string() : one_of_message(kind);
  };
  return {std::move(section), std::move(name), field, std::move(check), std::move(help), nullptr, kind};
}


std::vector<KeySpec> make_keys() {
  const Check none;
  return {
      {"", "seed", JEFFREYS_FIELD(uint64_t, seed), none,
       "training set, initialisation, batches, flow samples, evaluation draws"},
      {"", "device", JEFFREYS_FIELD(std::string, device),
       [](const Config& c) {
         return c.device == "cpu" || c.device.rfind("cuda", 0) == 0 ? std::string() : "must be cpu or cuda[:N]";
       },
       "`cpu` or `cuda[:N]`"},
      {"", "threads", JEFFREYS_FIELD(int64_t, threads), IN_RANGE(threads, 1, 256),
       "LibTorch and OpenBLAS threads (one was fastest for these networks)"},

      name_key("data", "name", JEFFREYS_FIELD(std::string, data.name), NameKind::dataset,
               "a built-in data set (below) or `csv`"),
      {"data", "csv", JEFFREYS_FIELD(std::string, data.csv),
       [](const Config& c) {
         return c.data.name != "csv" || !c.data.csv.empty() ? std::string()
                                                             : "must name a file when data.name = \"csv\"";
       },
       "CSV file when `data.name = \"csv\"` (any number of columns, header optional)"},
      {"data", "n_train", JEFFREYS_FIELD(int64_t, data.n_train), IN_RANGE(data.n_train, 2, 10000000),
       "size of the fixed training set drawn from a built-in data set"},
      {"data", "validation_fraction", JEFFREYS_FIELD(double, data.validation_fraction),
       [](const Config& c) {
         // With a separate test set nothing is held out, so 0 is a natural value there.
         const double f = c.data.validation_fraction;
         if (!c.data.test_csv.empty()) return f >= 0 && f < 1 ? std::string() : "must be in [0, 1)";
         return f > 0 && f < 1 ? std::string() : "must be in (0, 1)";
       },
       "CSV only: held out for evaluation (unused with data.test_csv)"},
      {"data", "test_csv", JEFFREYS_FIELD(std::string, data.test_csv),
       [](const Config& c) {
         return c.data.test_csv.empty() || c.data.name == "csv" ? std::string() : "needs data.name = \"csv\"";
       },
       "CSV only: a separate evaluation set (then all of `data.csv` trains)",
       [](const Config& c) { return !c.data.test_csv.empty(); }},
      {"data", "subset", JEFFREYS_FIELD(int64_t, data.subset),
       [](const Config& c) {
         if (c.data.subset < 0) return std::string("must be >= 0 (0: every training row)");
         return c.data.subset == 0 || c.data.name == "csv" ? std::string() : "needs data.name = \"csv\" (built-in sets: data.n_train)";
       },
       "CSV only: train on a random subset of this many training rows, drawn with the run's seed (0: all)",
       [](const Config& c) { return c.data.subset != 0; }},

      name_key("flow", "family", JEFFREYS_FIELD(std::string, flow.family), NameKind::flow_family, "flow family"),
      {"flow", "layers", JEFFREYS_FIELD(int64_t, flow.layers), IN_RANGE(flow.layers, 1, 256),
       "coupling / autoregressive layers"},
      {"flow", "hidden", JEFFREYS_FIELD(int64_t, flow.hidden), IN_RANGE(flow.hidden, 1, 16384), "conditioner width"},
      {"flow", "depth", JEFFREYS_FIELD(int64_t, flow.depth), IN_RANGE(flow.depth, 1, 64), "conditioner hidden layers"},
      name_key("flow", "activation", JEFFREYS_FIELD(std::string, flow.activation), NameKind::activation,
               "conditioner activation"),
      {"flow", "bins", JEFFREYS_FIELD(int64_t, flow.bins), IN_RANGE(flow.bins, 2, 512), "spline bins"},
      {"flow", "bound", JEFFREYS_FIELD(double, flow.bound), IN_OPEN_CLOSED(flow.bound, 0, 10000),
       "spline interval [-bound, bound] (identity tails outside)"},
      {"flow", "scale_clamp", JEFFREYS_FIELD(double, flow.scale_clamp), IN_OPEN_CLOSED(flow.scale_clamp, 0, 100),
       "affine log-scale soft clamp `c·tanh(s/c)`"},
      {"flow", "actnorm", JEFFREYS_FIELD(bool, flow.actnorm), none, "ActNorm layer before each layer"},
      {"flow", "lu_linear", JEFFREYS_FIELD(bool, flow.lu_linear), none, "LU-linear layer before each layer"},
      name_key("flow", "permutation", JEFFREYS_FIELD(std::string, flow.permutation), NameKind::permutation,
               "between layers"),

      {"energy", "hidden", JEFFREYS_FIELD(int64_t, energy.hidden), IN_RANGE(energy.hidden, 1, 16384), "MLP energy: width"},
      {"energy", "depth", JEFFREYS_FIELD(int64_t, energy.depth), IN_RANGE(energy.depth, 1, 64),
       "MLP energy: hidden layers"},
      name_key("energy", "activation", JEFFREYS_FIELD(std::string, energy.activation), NameKind::activation,
               "MLP energy: activation"),

      {"method", "name", JEFFREYS_FIELD(std::string, method.name), none,
       "a preset, optionally with a forward weight `-F<w>` (e.g. `jeffreys-F10`), entropy-corrected levels `-H` (`-Hc`: the entropy estimate capped by a Gaussian bound), "
       "the ESS constraint `-W<c>`, a proxy that tilts the flow `-T` or a moving average of it `-T<d>` (e.g. `paper-H-W0.1`, `paper-H-T0.99`)", nullptr, NameKind::method},

      {"wgan", "critic_hidden", JEFFREYS_FIELD(int64_t, wgan.critic_hidden), IN_RANGE(wgan.critic_hidden, 1, 16384),
       "WGAN-GP's critic width"},
      {"wgan", "critic_depth", JEFFREYS_FIELD(int64_t, wgan.critic_depth), IN_RANGE(wgan.critic_depth, 1, 64),
       "WGAN-GP's critic hidden layers"},
      {"wgan", "critic_steps", JEFFREYS_FIELD(int64_t, wgan.critic_steps), IN_RANGE(wgan.critic_steps, 1, 1000),
       "critic updates per generator update"},
      {"wgan", "gp_weight", JEFFREYS_FIELD(double, wgan.gp_weight), IN_RANGE(wgan.gp_weight, 0, 1e6),
       "gradient penalty weight"},

      {"optim", "lr", JEFFREYS_FIELD(double, optim.lr), IN_OPEN_CLOSED(optim.lr, 0, 10),
       "Adam learning rate of the flow (WGAN-GP: generator)"},
      {"optim", "lr_proxy", JEFFREYS_FIELD(double, optim.lr_proxy), IN_OPEN_CLOSED(optim.lr_proxy, 0, 10),
       "Adam learning rate of the energy model (WGAN-GP: critic)"},
      {"optim", "beta1", JEFFREYS_FIELD(double, optim.beta1),
       [](const Config& c) { return c.optim.beta1 >= 0 && c.optim.beta1 < 1 ? std::string() : "must be in [0, 1)"; },
       "Adam"},
      {"optim", "beta2", JEFFREYS_FIELD(double, optim.beta2),
       [](const Config& c) { return c.optim.beta2 >= 0 && c.optim.beta2 < 1 ? std::string() : "must be in [0, 1)"; },
       "Adam"},
      {"optim", "weight_decay", JEFFREYS_FIELD(double, optim.weight_decay), IN_RANGE(optim.weight_decay, 0, 1000),
       "Adam's L2 penalty"},
      {"optim", "clip_grad_norm", JEFFREYS_FIELD(double, optim.clip_grad_norm),
       [](const Config& c) { return c.optim.clip_grad_norm >= 0 ? std::string() : "must be >= 0 (0 = off)"; },
       "global gradient norm clip per model (0 = off)"},
      name_key("optim", "schedule", JEFFREYS_FIELD(std::string, optim.schedule), NameKind::schedule,
               "cosine decays to `min_lr_factor`, exponential by `gamma` per step"),
      {"optim", "warmup_steps", JEFFREYS_FIELD(int64_t, optim.warmup_steps), IN_RANGE(optim.warmup_steps, 0, 1000000000),
       "linear warm-up"},
      {"optim", "min_lr_factor", JEFFREYS_FIELD(double, optim.min_lr_factor), IN_RANGE(optim.min_lr_factor, 0, 1),
       "cosine: the final factor"},
      {"optim", "gamma", JEFFREYS_FIELD(double, optim.gamma), IN_OPEN_CLOSED(optim.gamma, 0, 1),
       "exponential: the factor per step", [](const Config& c) { return c.optim.schedule == "exponential"; }},

      {"train", "steps", JEFFREYS_FIELD(int64_t, train.steps), IN_RANGE(train.steps, 1, 1000000000), "training steps"},
      {"train", "batch_size", JEFFREYS_FIELD(int64_t, train.batch_size), IN_RANGE(train.batch_size, 1, 10000000), "data batch"},
      {"train", "flow_samples", JEFFREYS_FIELD(int64_t, train.flow_samples), IN_RANGE(train.flow_samples, 2, 10000000),
       "flow samples M for `log Ẑ` and R"},
      {"train", "log_every", JEFFREYS_FIELD(int64_t, train.log_every), IN_RANGE(train.log_every, 1, 1000000000),
       "steps between rows of metrics.csv"},
      {"train", "eval_every", JEFFREYS_FIELD(int64_t, train.eval_every), IN_RANGE(train.eval_every, 1, 1000000000),
       "steps between evaluations"},
      {"train", "checkpoint_every", JEFFREYS_FIELD(int64_t, train.checkpoint_every),
       IN_RANGE(train.checkpoint_every, 1, 1000000000), "steps between checkpoints"},
      {"train", "divergence_threshold", JEFFREYS_FIELD(double, train.divergence_threshold),
       ABOVE(train.divergence_threshold, 0), "a term above this (or NaN) stops training"},

      {"eval", "n_test", JEFFREYS_FIELD(int64_t, eval.n_test), IN_RANGE(eval.n_test, 10, 10000000),
       "fresh samples for NLLs"},
      {"eval", "log_z_samples", JEFFREYS_FIELD(int64_t, eval.log_z_samples), IN_RANGE(eval.log_z_samples, 100, 100000000),
       "flow samples for the proxy's `log Z`"},
      {"eval", "grid", JEFFREYS_FIELD(int64_t, eval.grid), IN_RANGE(eval.grid, 8, 4096),
       "grid cells per side for quadrature"},
      {"eval", "mmd_samples", JEFFREYS_FIELD(int64_t, eval.mmd_samples), IN_RANGE(eval.mmd_samples, 10, 10000),
       "samples per side for MMD"},
  };
}

}  // namespace

std::string toml_number(double v) {
  // The shortest text that reads back as exactly v (0.1, not 0.10000000000000001), in fixed
  // notation unless that is long (1e-300).
  char fixed[512], general[64];
  const auto fixed_end = std::to_chars(fixed, fixed + sizeof fixed, v, std::chars_format::fixed).ptr;
  const auto general_end = std::to_chars(general, general + sizeof general, v).ptr;
  std::string s = fixed_end - fixed <= 18 ? std::string(fixed, fixed_end) : std::string(general, general_end);
  if (s.find_first_of(".eE") == std::string::npos && s.find("inf") == std::string::npos && s.find("nan") == std::string::npos)
    s += ".0";
  return s;
}

std::string toml_string(const std::string& s) {
  std::ostringstream o;
  o << std::quoted(s);
  return o.str();
}

const std::vector<KeySpec>& config_keys() {
  static const std::vector<KeySpec> keys = make_keys();
  return keys;
}

const std::vector<SectionSpec>& config_sections() {
  static const std::vector<SectionSpec> sections = {
      {"data", "the training data", nullptr, {}},
      {"flow", "the main model", nullptr, {}},
      {"energy", "the proxy", nullptr, {}},
      {"method", "what is optimised", nullptr, {"objective", "constraints"}},
      {"wgan", "the WGAN-GP baseline", [](const Config& c) { return c.method.is_wgan(); }, {}},
      {"optim", "optimisers", nullptr, {}},
      {"train", "the training loop", nullptr, {}},
      {"eval", "evaluation", nullptr, {}},
  };
  return sections;
}

std::string toml_value(const KeySpec& spec, const Config& c) {
  Config& m = const_cast<Config&>(c);  // the accessors give references; nothing is written
  return std::visit(
      [&](auto get) -> std::string {
        const auto& v = get(m);
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return toml_string(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          return toml_number(v);
        } else {
          return std::to_string(v);
        }
      },
      spec.field);
}

std::string key_help(const KeySpec& k) {
  if (!k.names) return k.help;
  std::string list;
  for (const auto& n : names_of(*k.names)) list += (list.empty() ? "" : ", ") + ("`" + n + "`");
  return k.help + ": " + list;
}

std::string config_keys_markdown() {
  const Config defaults;
  std::ostringstream o;
  o << "| key | default | meaning |\n|---|---|---|\n";
  for (const auto& k : config_keys()) {
    std::string def = toml_value(k, defaults);
    if (def.front() == '"') def = "`" + def + "`";
    o << "| `" << k.key() << "` | " << def << " | " << key_help(k);
    if (k.section == "wgan") o << " (only with `method.name = \"wgan-gp\"`)";
    o << " |\n";
    if (k.key() == "method.name") {
      o << "| `method.objective` | the preset's | table `{F = w, P = w, R = w, W = w}` replacing the preset's objective |\n";
      o << "| `[[method.constraints]]` | the preset's | `term` (F, P, R or W = log(M/ESS)), `level` (0), `relative_to` "
           "(`\"\"`), `entropy_level` (false: add the data's entropy estimate to the level of F or P), `resilient` "
           "(true), `slack_cost` α (1), `dual_lr` η (0.01), `dual_init` λ0 (1); replaces the preset's constraints "
           "(`constraints = []` for none) |\n";
    }
  }
  return o.str();
}

}  // namespace jeffreys::app
