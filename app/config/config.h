#pragma once
/// One training run as a typed value: what a TOML configuration file (plus --set overrides) says.
/// Each field's default is written once, here (taken from the library's Options where the tool
/// uses the library's default); app/config/schema.h declares each key's type, bounds and help once,
/// and the reader, --set, validation, the resolved config.toml, `jeffreys keys` and the README's
/// key table all come from that one table.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "jeffreys/constrained/formulation.h"
#include "jeffreys/energy/energy.h"
#include "jeffreys/flows/presets.h"
#include "jeffreys/train/flat_adam.h"
#include "jeffreys/train/trainer.h"
#include "jeffreys/train/wgan_gp.h"

#include "jeffreys/data/errors.h"

namespace jeffreys::app {

struct DataConfig {
  /// A built-in 2D data set (see data/toy2d.h), or "csv" to read `csv`.
  std::string name = "8-gaussians";
  std::string csv;
  /// CSV only: a separate evaluation set; then all of `csv` trains and validation_fraction is unused.
  std::string test_csv;
  /// Size of the fixed training set drawn from a built-in data set (the small-data setting).
  int64_t n_train = 500;
  /// CSV only: held out for evaluation.
  double validation_fraction = 0.1;
  /// CSV only: train on a random subset of this many training rows, drawn with the run's seed (0: all);
  /// the small-data setting on a data set given as a file.
  int64_t subset = 0;
};

struct FlowConfig {
  std::string family = flows::to_string(flows::FlowOptions(1).family());
  int64_t layers = flows::FlowOptions(1).layers();
  /// Narrower than the library's 128: the tool's default job is 2-D data with a few hundred points.
  int64_t hidden = 64;
  int64_t depth = flows::FlowOptions(1).depth();
  std::string activation = nn::to_string(flows::FlowOptions(1).activation());
  int64_t bins = flows::FlowOptions(1).bins();
  double bound = flows::FlowOptions(1).bound();
  double scale_clamp = flows::FlowOptions(1).scale_clamp();
  bool actnorm = flows::FlowOptions(1).actnorm();
  bool lu_linear = flows::FlowOptions(1).lu_linear();
  std::string permutation = "none";
};

struct EnergyConfig {
  /// Narrower than the library's 128, as flow.hidden.
  int64_t hidden = 64;
  int64_t depth = energy::MLPEnergyOptions(1).depth();
  std::string activation = nn::to_string(energy::MLPEnergyOptions(1).activation());
};

struct MethodConfig {
  /// A method name of constrained::parse_method_name, e.g. "jeffreys" or "jeffreys-F10" (a preset,
  /// `objective` / `constraints` replacing its parts when given), or "wgan-gp": the flow as a
  /// WGAN-GP generator against the critic of [wgan].
  std::string name = "jeffreys";
  std::map<std::string, double> objective;
  std::vector<constrained::Constraint> constraints;
  bool custom_objective = false;
  bool custom_constraints = false;
  bool is_wgan() const { return name == "wgan-gp"; }
  /// Whether the method trains the energy model (the proxy): a formulation that uses P or R.
  bool trains_energy() const { return !is_wgan() && formulation().uses_proxy(); }
  /// The formulation this describes (not for wgan-gp).
  constrained::Formulation formulation() const;
};

/// The WGAN-GP baseline's critic and schedule; its generator is the [flow], its learning rates
/// optim.lr (generator) and optim.lr_proxy (critic), its Adam betas optim.beta1/beta2.
struct WganConfig {
  int64_t critic_hidden = 128;
  int64_t critic_depth = 2;
  int64_t critic_steps = train::WganGpOptions().critic_steps;
  double gp_weight = train::WganGpOptions().gp_weight;
};

struct OptimConfig {
  double lr = train::AdamOptions().lr;
  double lr_proxy = train::AdamOptions().lr;
  double beta1 = train::AdamOptions().beta1;
  double beta2 = train::AdamOptions().beta2;
  double weight_decay = train::AdamOptions().weight_decay;
  double clip_grad_norm = train::OptimizerOptions().clip_grad_norm;
  std::string schedule = "constant";
  int64_t warmup_steps = train::Schedule().warmup_steps;
  double min_lr_factor = train::Schedule().min_factor;
  /// Exponential schedule: the factor gamma^step.
  double gamma = train::Schedule().gamma;
};

struct TrainConfig {
  int64_t steps = 5000;
  int64_t batch_size = train::TrainerOptions().batch_size;
  int64_t flow_samples = train::TrainerOptions().flow_samples;
  int64_t log_every = 50;
  int64_t eval_every = 1000;
  int64_t checkpoint_every = 500;
  double divergence_threshold = train::TrainerOptions().divergence_threshold;
};

struct EvalConfig {
  /// Fresh samples of the true distribution for NLLs (built-in data sets).
  int64_t n_test = 20000;
  /// Flow samples for the proxy's log Z.
  int64_t log_z_samples = 100000;
  /// Grid cells per side for quadrature and heat maps.
  int64_t grid = 200;
  /// Samples per side for MMD.
  int64_t mmd_samples = 2000;
};

struct Config {
  uint64_t seed = 0;
  std::string device = "cpu";
  int64_t threads = 1;
  DataConfig data;
  FlowConfig flow;
  EnergyConfig energy;
  MethodConfig method;
  WganConfig wgan;
  OptimConfig optim;
  TrainConfig train;
  EvalConfig eval;

  /// The resolved configuration as TOML: every key with its value, readable by load_config.
  std::string to_toml() const;
  bool operator==(const Config& other) const { return to_toml() == other.to_toml(); }
};

/// The first key in which two configurations differ, as "key = <a's value> where the other has
/// <b's value>"; empty when they are equal.
std::string first_difference(const Config& a, const Config& b);

/// A configuration that cannot be read; what() names the file (or "--set"), the line and the key.
class ConfigError : public std::runtime_error {
 public:
  /// Quoted file content keeps the message on one line (control characters written out).
  explicit ConfigError(const std::string& what) : std::runtime_error(data::printable(what)) {}
};

/// Reads `path` (empty: defaults only), applies `overrides` ("key.sub=value", value in TOML syntax
/// or a bare string) and validates every key, type and range. Throws ConfigError.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

}  // namespace jeffreys::app
