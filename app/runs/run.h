#pragma once
/// A training run as a folder: resolved configuration, metrics.csv, summary.json, checkpoint and
/// plots, everything written atomically, so that an interrupted run (kill -9 at any moment) leaves
/// a folder that `resume` continues from and ends with the same metrics as an uninterrupted run.
#include <torch/types.h>

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "app/config/config.h"
#include "app/runs/run_folder.h"

namespace jeffreys::distributed {
class Communicator;
}

namespace jeffreys::app {

struct RunOptions {
  /// Continue from the folder's checkpoint (the folder's config.toml wins over `config`).
  bool resume = false;
  /// Where progress goes; a terminal gets one live line, anything else a plain line per log step.
  std::ostream* progress = nullptr;
  /// Stop after this many steps of this call (tests use it to simulate an interruption); < 0 = no limit.
  int64_t stop_after = -1;
  /// Write the PNG plots at the end.
  bool plots = true;
  /// Data parallel: this process is one rank of the run (null: the only one). Every rank trains;
  /// rank 0 alone evaluates and writes the folder.
  std::shared_ptr<distributed::Communicator> communicator;
};

struct RunSummary {
  std::string dir;
  std::string status;  ///< run_status: completed, stopped (stop_after) or diverged
  int64_t steps_done = 0;
  MetricsRow final_metrics;
};

/// Trains `config` into `dir` (created; must be empty or absent unless resuming). Throws
/// ConfigError or std::runtime_error on bad input before anything is written; on divergence it
/// records the state (status "diverged" in summary.json) and rethrows train::TrainingDiverged.
RunSummary train_run(const Config& config, const std::string& dir, const RunOptions& options = {});

/// Recomputes the evaluation metrics of the run's latest checkpoint and writes eval.json.
MetricsRow evaluate_run(const std::string& dir);

/// A trained run's densities on an n×n grid over its plotting extent [xmin, xmax, ymin, ymax]
/// (2-D data): the truth (undefined for CSV data), the flow, the proxy (undefined without one),
/// and the training points, for figures that put several runs side by side.
struct DensityMaps {
  std::array<double, 4> extent{};
  torch::Tensor truth, flow, proxy, train_points;
};
DensityMaps density_maps(const std::string& dir, int64_t n = 160);

/// The rows of a run folder's metrics.csv (empty if it has none).
std::vector<MetricsRow> read_metrics_csv(const std::string& dir);

/// Redraws the plots of a run from its checkpoint and metrics.csv.
void plot_run(const std::string& dir);

/// Writes `n` samples of the main model (the flow) or of the proxy (sampling-importance-resampling
/// from flow samples) to a CSV file.
void sample_run(const std::string& dir, int64_t n, const std::string& model, const std::string& out_csv,
                uint64_t seed = 0);

/// How draw_samples draws: the flow ("flow"), the proxy by sampling-importance-resampling from flow
/// samples ("proxy"), or flow samples moved by `langevin_steps` steps of Langevin dynamics on the
/// energy ("langevin").
struct SampleOptions {
  std::string sampler = "flow";
  uint64_t seed = 0;
  int64_t langevin_steps = 20;
  double langevin_step_size = 1e-3;
};

/// `n` samples [n, d] of a trained run (its latest checkpoint), as sample_run writes them.
torch::Tensor draw_samples(const std::string& dir, int64_t n, const SampleOptions& options);

/// The files a finished run folder holds (relative paths), for `demo` and tests.
std::vector<std::string> run_folder_files();

}  // namespace jeffreys::app
