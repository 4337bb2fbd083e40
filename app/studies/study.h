#pragma once
/// A study: many training runs (arms × data sets × training-set sizes × seeds × learning rates)
/// from one TOML file, run as parallel `jeffreys train` processes into one folder, skipping the
/// runs already finished so it can be continued; then one results.csv, a markdown table and figures.
#include <cstdint>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "app/config/config.h"

#include "app/sweeps/sweep.h"

namespace jeffreys::app {

/// A named way of training: overrides applied to the base run configuration.
struct StudyArm {
  std::string name;
  std::vector<std::string> set;
};

/// A Cartesian product of runs. An empty `lr` keeps each arm's own learning rate; otherwise each
/// value sets both optim.lr and optim.lr_proxy (the generator's and critic's for wgan-gp).
struct StudyGrid {
  std::vector<std::string> arms, datasets;
  std::vector<int64_t> n_train;
  std::vector<uint64_t> seeds;
  std::vector<double> lr;
};

struct StudyConfig {
  std::string file;  ///< the study file, for errors and relative paths
  std::string base;  ///< run configuration every run starts from (resolved path)
  std::vector<std::string> set;  ///< overrides for every run, after the base and before the arm's
  std::vector<StudyArm> arms;
  std::vector<StudyGrid> grids;
  /// Figures (drawn by experiments/figures.py from the report's CSVs): the NLL curves (of
  /// `curve_arms`) and density grid use this training-set size, the learning-rate panel compares
  /// `lr_panel_arms` at `lr_panel_n_train`; the density grid shows the flow of `density_arms` (the
  /// last one's energy model too), whose maps the report writes.
  int64_t figure_n_train = 200;
  int64_t lr_panel_n_train = 500;
  std::vector<std::string> lr_panel_arms;
  std::vector<std::string> density_arms;
  /// Arms drawn in the NLL curves (empty: all).
  std::vector<std::string> curve_arms;
};

/// Reads a study file; `overrides` ("key=value") go to every run, after the study's own `set`.
/// Throws ConfigError naming the file, line and key (including errors in the resolved run configurations).
StudyConfig load_study(const std::string& path, const std::vector<std::string>& overrides = {});

/// One planned run, named `arm__dataset__n<N>__lr<lr>__s<seed>` (also its folder under runs/).
struct StudyRun {
  std::string name, arm, dataset;
  int64_t n_train = 0;
  uint64_t seed = 0;
  double lr = 0;
  Config config;
};

/// Every distinct run of the study, in the file's order (a run listed by two grids appears once).
std::vector<StudyRun> plan_study(const StudyConfig& study);

/// A learning rate as run names and tables write it ("1e-03").
std::string lr_label(double lr);

/// The learning rate an arm trains with when a grid does not set one.
double arm_lr(const StudyConfig& study, const std::string& arm);

/// Runs trained at once, the executable, progress: those of every sweep.
using StudyOptions = SweepOptions;

struct StudyOutcome {
  int64_t planned = 0, skipped = 0, completed = 0, diverged = 0, failed = 0;
  double seconds = 0;
};

/// Trains every run of the study that has not finished into `out`/runs/<name>/ (a run folder made
/// with a different configuration is an error, not overwritten), then writes the report.
StudyOutcome run_study(const StudyConfig& study, const std::string& out, const StudyOptions& options);

/// From the run folders present (and, for runs without one, what the previous report recorded of
/// them, which is kept): `out`/results.csv (one row per run), results.md (mean ± std over
/// seeds), curves.csv (every run's evaluation rows) and, with density_arms, densities.csv and
/// train_points.csv: the data of the figures experiments/figures.py draws. Returns the files written.
std::vector<std::string> report_study(const StudyConfig& study, const std::string& out);

/// The planned runs an earlier report recorded as finished in out/results.csv. A clone has that file
/// but not the run folders: these count as finished (delete results.csv to run them again).
std::set<std::string> recorded_runs(const StudyConfig& study, const std::string& out);

}  // namespace jeffreys::app
