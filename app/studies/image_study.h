#pragma once
/// Image generation in an autoencoder's latent space: train a convolutional autoencoder and a
/// feature classifier once, train the flow and energy model on the encoded images with each method
/// (as parallel `jeffreys train` processes), decode their samples and score them by FID, precision
/// and recall in the classifier's feature space. One TOML file, one folder; finished steps are skipped.
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "app/sweeps/sweep.h"

namespace jeffreys::app {

struct ImageDataConfig {
  /// "fashion-mnist" (Debian's IDX files in `path`, their own train/test split) or "png-folder".
  std::string source = "fashion-mnist";
  std::string path = "/usr/share/datasets/fashion-mnist";
  /// Pixels in [0, 1] ("unit") or [-1, 1] ("symmetric").
  std::string range = "unit";
  /// png-folder: the held-out share.
  double test_fraction = 0.1;
  /// Use only the first images (0 = all): quick runs and tests.
  int64_t max_train = 0, max_test = 0;
};

struct AutoencoderConfig {
  std::vector<int64_t> latent_dims = {16, 32};
  int64_t width = 32, epochs = 10, batch_size = 128;
  double lr = 1e-3;
};

/// The feature network for FID, precision and recall; needs labels (fashion-mnist).
struct ClassifierConfig {
  int64_t epochs = 8, batch_size = 128, features = 128;
  double lr = 1e-3, dropout = 0.3;
};

/// A named method: overrides of the latent run configuration (as in study files).
struct LatentArm {
  std::string name;
  std::vector<std::string> set;
};

struct LatentConfig {
  std::string base;  ///< run configuration (resolved path); the study sets its data, seed and method
  std::vector<int64_t> latent_dims;  ///< autoencoders whose codes get latent models (default: the first)
  /// Training codes per latent run: a random subset of this many, drawn with the run's seed (the
  /// small-data regime; the autoencoder still sees every training image); 0 = every code.
  std::vector<int64_t> n_train = {0};
  std::vector<uint64_t> seeds = {0, 1, 2};
  std::vector<std::string> set;  ///< overrides for every run, before the arm's
  std::vector<LatentArm> arms;
};

struct ImageEvalConfig {
  /// Generated images per run and sampler, compared with as many test images (at most the test set).
  int64_t samples = 10000;
  /// Neighbours defining the manifolds of precision and recall.
  int64_t k = 3;
  /// Langevin dynamics on the energy from flow samples (runs with an energy model).
  int64_t langevin_steps = 20;
  double langevin_step_size = 1e-3;
  /// Sample grids are grid × grid images.
  int64_t grid = 8;
};

struct ImageStudyConfig {
  std::string file;
  uint64_t seed = 0;
  int64_t threads = 1;
  ImageDataConfig data;
  AutoencoderConfig autoencoder;
  ClassifierConfig classifier;
  bool has_classifier = true;
  LatentConfig latent;
  ImageEvalConfig evaluation;
};

/// Reads a study file (see experiments/fashion_mnist/study.toml); a ConfigError names file, line and key.
ImageStudyConfig load_image_study(const std::string& path);

struct AutoencoderSummary {
  int64_t latent_dim = 0;
  double test_mse = 0, seconds = 0;
};

/// Trains the autoencoder with `latent_dim` into `dir` (absent or empty): metrics.csv, summary.json
/// (test MSE per pixel, the codes' mean and std), model.pt, reconstructions.png (test images above
/// their reconstructions) and latents_train.csv / latents_test.csv: the codes z-scored with the
/// training codes' mean and std, which decoding undoes.
AutoencoderSummary autoencode_run(const ImageStudyConfig& c, int64_t latent_dim, const std::string& dir,
                                  std::ostream* progress = nullptr);

/// jobs: latent runs trained at once; the executable of the latent runs; progress.
using ImageStudyOptions = SweepOptions;

/// Everything into `out`: autoencoder_d<k>/, classifier/, runs/<method>__d<k>[__n<n>]__s<seed>/ (plus
/// image_eval.json and grid_<sampler>.png in each), then the report. Returns the failed runs.
int64_t run_image_study(const ImageStudyConfig& c, const std::string& out, const ImageStudyOptions& options);

/// From the folders present: results.csv (one row per run and sampler: method, seed, latent_dim,
/// n_train (training codes), sampler, fid, precision, recall, latent_test_nll, latent_test_nll_proxy,
/// train_seconds), results.md (mean ± std over seeds), samples_d<k>.png (seed 0's flow samples of
/// every method side by side), samplers_d<k>.png (flow, proxy and Langevin samples of each method with
/// an energy model) and each grid alone as grids/<method>_d<k>_<sampler>.png; `_n<n>` is added to
/// these names for the runs on a subset. Rows of runs the study no longer plans are kept; when a
/// planned run recorded in results.csv has no folder (a clone), nothing is rewritten (an error says so).
std::vector<std::string> report_image_study(const ImageStudyConfig& c, const std::string& out);

}  // namespace jeffreys::app
