#pragma once
/// Fitting the image networks: the autoencoder by pixel mean squared error, the classifier by cross
/// entropy; Adam over shuffled mini-batches, one record per epoch for metrics.csv.
#include <torch/types.h>

#include <cstdint>
#include <ostream>
#include <vector>

#include "jeffreys/vision/models.h"

namespace jeffreys::vision {

struct FitOptions {
  int64_t epochs = 10;
  int64_t batch_size = 128;
  double lr = 1e-3;
  uint64_t seed = 0;
  /// One line per epoch; nullptr = quiet.
  std::ostream* progress = nullptr;
};

struct EpochRecord {
  int64_t epoch = 0;
  double train_loss = 0;
  /// Autoencoder: test mean squared error per pixel; classifier: test accuracy.
  double test_metric = 0;
  double seconds = 0;
};

/// Trains on `train` [N, C, H, W]; evaluates on `test` after each epoch. Throws
/// train::TrainingDiverged (train/errors.h) if the loss stops being finite.
std::vector<EpochRecord> fit_autoencoder(ConvAutoencoder& model, const torch::Tensor& train, const torch::Tensor& test,
                                         const FitOptions& options);

/// Mean squared error per pixel of the reconstructions of `images`.
double reconstruction_mse(ConvAutoencoder& model, const torch::Tensor& images);

std::vector<EpochRecord> fit_classifier(ConvClassifier& model, const torch::Tensor& train, const torch::Tensor& train_labels,
                                        const torch::Tensor& test, const torch::Tensor& test_labels,
                                        const FitOptions& options);

/// Share of `images` whose most probable class is the label.
double classification_accuracy(ConvClassifier& model, const torch::Tensor& images, const torch::Tensor& labels);

}  // namespace jeffreys::vision
