#pragma once
/// One experiment as a typed value: what a TOML configuration file (plus --set overrides) says,
/// with every default written once here. The command line reads and writes only this.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "jeffreys/constrained/formulation.h"

namespace jeffreys::experiment {

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
};

struct FlowConfig {
  std::string family = "realnvp";
  int64_t layers = 8;
  int64_t hidden = 64;
  int64_t depth = 2;
  std::string activation = "silu";
  int64_t bins = 8;
  double bound = 5.0;
  double scale_clamp = 1.0;
  bool actnorm = false;
  bool lu_linear = false;
  std::string permutation = "none";
};

struct EnergyConfig {
  int64_t hidden = 64;
  int64_t depth = 2;
  std::string activation = "silu";
};

struct MethodConfig {
  /// A preset of constrained::formulation_by_name (`objective` / `constraints` replace its parts
  /// when given), or "wgan-gp": the flow as a WGAN-GP generator against the critic of [wgan].
  std::string name = "jeffreys";
  std::map<std::string, double> objective;
  std::vector<constrained::Constraint> constraints;
  bool custom_objective = false;
  bool custom_constraints = false;
  bool is_wgan() const { return name == "wgan-gp"; }
  /// The formulation this describes (not for wgan-gp).
  constrained::Formulation formulation() const;
};

/// The WGAN-GP baseline's critic and schedule; its generator is the [flow], its learning rates
/// optim.lr (generator) and optim.lr_proxy (critic), its Adam betas optim.beta1/beta2.
struct WganConfig {
  int64_t critic_hidden = 128;
  int64_t critic_depth = 2;
  int64_t critic_steps = 5;
  double gp_weight = 10.0;
};

struct OptimConfig {
  double lr = 1e-3;
  double lr_proxy = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double weight_decay = 0.0;
  double clip_grad_norm = 0.0;
  std::string schedule = "constant";
  int64_t warmup_steps = 0;
  double min_lr_factor = 0.0;
};

struct TrainConfig {
  int64_t steps = 5000;
  int64_t batch_size = 256;
  int64_t flow_samples = 256;
  int64_t log_every = 50;
  int64_t eval_every = 1000;
  int64_t checkpoint_every = 500;
  double divergence_threshold = 1e8;
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

/// A configuration that cannot be read; what() names the file (or "--set"), the line and the key.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads `path` (empty: defaults only), applies `overrides` ("key.sub=value", value in TOML syntax
/// or a bare string) and validates every key, type and range. Throws ConfigError.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

}  // namespace jeffreys::experiment
