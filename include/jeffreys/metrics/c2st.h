#pragma once
/// Classifier two-sample test (C2ST; Lopez-Paz & Oquab, ICLR 2017) exactly as the sbibm benchmark
/// computes it, so posterior samples can be scored against reference samples on sbibm's scale:
/// 0.5 means a classifier cannot tell the two samples apart, 1.0 that it separates them fully.
///
/// sbibm's recipe (metrics/c2st.py, with scikit-learn's MLPClassifier at its defaults), reproduced here:
/// - z-score both samples with the mean and the unbiased standard deviation of the first, `x`;
/// - labels 0 for `x`, 1 for `y`; 5-fold cross-validation over the pooled rows, shuffled with a
///   fixed seed (scikit-learn's KFold: the first N mod 5 folds hold one row more);
/// - in each fold a fresh MLP d → 10·d → 10·d → 1, ReLU, logistic output, trained on the other four
///   folds by minimising the mean binary cross-entropy plus L2 penalty α/2·Σ‖W‖²/B on the weights
///   (not the biases) of each mini-batch of B rows, α = 1e-4; Adam (learning rate 1e-3, β = (0.9,
///   0.999), ε = 1e-8, scikit-learn's form lr·√(1-β₂ᵗ)/(1-β₁ᵗ)·m/(√v + ε)); batches of 200 rows,
///   the training rows reshuffled every epoch; weights and biases initialised U(±√(6/(fan_in + fan_out)));
/// - training stops when the epoch's mean training loss has failed to fall below the best so far by
///   more than 1e-4 for 11 consecutive epochs (scikit-learn's "n_iter_no_change = 10" counts until
///   the count exceeds 10), or after 10,000 epochs;
/// - a test row is classified as `y` when the predicted probability exceeds 0.5; the score is the
///   mean over the folds of the test accuracy.
///
/// Deviations, none of which moves the score beyond its seed-to-seed spread: the random numbers
/// (fold assignment, initial weights, batch order) come from LibTorch's generator seeded with
/// `seed`, not numpy's, so the folds and weights differ from scikit-learn's for the same seed (each
/// fold, like scikit-learn's clone with a fixed random_state, restarts the generator from `seed`);
/// and a column of `x` with zero standard deviation is left unscaled instead of producing NaN.
/// Training runs in float32, as scikit-learn 1.2 does with sbibm's float32 samples, and the loss is
/// clipped as its float32 log-loss is (probabilities in [ε, 1 - ε]). The comparison with
/// scikit-learn on the same data is in the README (the sbibm tasks and C2ST).
#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace jeffreys::metrics {

/// sbibm's settings; change them only for quick checks (tests use fewer epochs or folds).
struct C2stOptions {
  TORCH_ARG(int64_t, folds) = 5;
  /// Seeds the fold assignment, the initial weights and the batch order.
  TORCH_ARG(uint64_t, seed) = 1;
  TORCH_ARG(bool, z_score) = true;
  /// Hidden units per layer; 0 means sbibm's 10·d.
  TORCH_ARG(int64_t, hidden) = 0;
  TORCH_ARG(int64_t, max_epochs) = 10000;
  TORCH_ARG(int64_t, batch_size) = 200;
  TORCH_ARG(double, learning_rate) = 1e-3;
  /// L2 penalty α.
  TORCH_ARG(double, l2) = 1e-4;
  /// Stop when the loss has not improved by `tol` for more than `patience` epochs.
  TORCH_ARG(double, tol) = 1e-4;
  TORCH_ARG(int64_t, patience) = 10;
};

struct C2stResult {
  /// Mean test accuracy over the folds: the C2ST score.
  double accuracy = 0;
  std::vector<double> fold_accuracy;
  /// Epochs each fold's classifier trained for.
  std::vector<int64_t> fold_epochs;
};

/// C2ST score of samples `x` [m, d] and `y` [n, d] (any float dtype and device; computed on the CPU).
/// Needs at least `folds` rows in all and finite values; throws c10::Error otherwise. With sbibm's
/// 10,000 rows a side it takes about 0.5 s (d = 2) to 37 s (d = 10) on one thread: the time grows
/// with the epochs, which grow as the samples get harder to tell apart.
double c2st(const torch::Tensor& x, const torch::Tensor& y, const C2stOptions& options = {});

/// The same, with the per-fold accuracies and epoch counts.
C2stResult c2st_folds(const torch::Tensor& x, const torch::Tensor& y, const C2stOptions& options = {});

}  // namespace jeffreys::metrics
