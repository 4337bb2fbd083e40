#pragma once
// Internal to app/runs: everything a training run is built from, the same for a fresh run, a resumed
// one, eval, plot and sample, and the one builder of flow + energy + trainer from a configuration.
#include <torch/torch.h>

#include <memory>

#include "app/config/config.h"
#include "app/runs/run.h"
#include "app/runs/run_folder.h"
#include "jeffreys/data/toy2d.h"
#include "jeffreys/energy/energy.h"
#include "jeffreys/flows/flow.h"
#include "jeffreys/metrics/entropy.h"
#include "jeffreys/train/schedule.h"
#include "jeffreys/train/step_trainer.h"

namespace jeffreys::app {

struct Setup {
  Config config;
  std::unique_ptr<data::Toy2D> toy;
  torch::Tensor train_x, validation;
  flows::Flow flow{nullptr};
  /// The proxy: the energy model, or the flow tilted by it (method suffix -T).
  energy::EnergyPtr energy;
  /// The joint primal-dual Trainer (every formulation) or the WGAN-GP baseline.
  std::unique_ptr<train::StepTrainer> trainer;
  /// Whether the method trains the energy model (the proxy).
  bool uses_proxy = false;
  /// Ĥ(π) of the training set when a constraint's level is entropy-corrected (method suffix -H);
  /// n = 0 otherwise. Written to the run folder as data_entropy.json.
  metrics::EntropyEstimate data_entropy;
  /// log π on the evaluation grid: constant for the run, and seconds to compute for quadrature densities.
  torch::Tensor grid_log_density;
  int64_t dim() const { return train_x.size(1); }
  /// metrics.csv's columns: step, wall time, the trainer's numbers, then those every run has.
  std::vector<std::string> columns() const;
};

/// The learning-rate schedule of the configuration.
train::Schedule schedule_of(const OptimConfig& o, int64_t steps);

/// Data, models and trainer of `config`; throws on bad input before anything is written.
std::unique_ptr<Setup> build(const Config& config);

/// Models and trainer of `config` for data the caller holds ([N, D] float; `validation` may be
/// undefined): `jeffreys.fit` from Python. The configuration's data keys are not read.
std::unique_ptr<Setup> build_on(const Config& config, torch::Tensor train_x, torch::Tensor validation = {});

/// The device `text` names ("cpu", "cuda", "cuda:N"), checked before anything is built on it (a
/// ConfigError beginning with `what`: no such device, no CUDA here). With several ranks a bare "cuda"
/// is this rank's GPU (distributed::rank_device), the device its communicator reduces on.
torch::Device rank_device_of(const std::string& text, const std::string& what);

/// Builds setup.flow, setup.energy and setup.trainer for setup.train_x (moved to the device).
void build_models(const Config& config, Setup& setup);

/// The run in `folder` at its latest checkpoint.
std::unique_ptr<Setup> open_run(const RunFolder& folder);

/// Generators of the evaluation draws, one per purpose (`salt`), reproducible from the run's seed.
at::Generator eval_generator(uint64_t seed, uint64_t salt);

/// NLLs of both models, log Z, grid divergences and MMD at `step`.
MetricsRow evaluate(Setup& s, int64_t step);

/// Densities on an n×n grid over the plotting extent (2-D data only).
DensityMaps density_maps_of(Setup& s, int64_t n, const std::vector<MetricsRow>& rows);

/// plots/ of the run folder from the models and the metrics rows.
void draw_plots(Setup& s, const RunFolder& folder, const std::vector<MetricsRow>& rows);

/// Points [n, d] as CSV with a header x0, x1, ... (readable by data::read_csv).
void write_points_csv(const torch::Tensor& points, const std::string& path);

}  // namespace jeffreys::app
