#pragma once
/// The data's differential entropy H(π) from samples, for constraint levels on the KL scale
/// (constrained/formulation.h, entropy_level): F - H(π) = KL(π‖p_θ) when F is the cross-entropy.
/// Kozachenko–Leonenko k-nearest-neighbour estimator (Kozachenko & Leonenko 1987; Kraskov, Stögbauer
/// & Grassberger 2004, eq. 20): Ĥ = ψ(n) - ψ(k) + log V_d + (d/n) Σ_i log ρ_k(i), with ρ_k(i) the
/// Euclidean distance from row i to its k-th nearest other row and V_d the volume of the unit d-ball.
/// Consistent; its bias grows with the dimension for a fixed n (tests state the tolerances met).
#include <torch/types.h>

#include <cstdint>
#include <limits>

namespace jeffreys::metrics {

struct EntropyEstimate {
  double value = 0;  ///< nats
  int64_t n = 0, dims = 0, k = 0;
  bool dequantised = false;  ///< conditional_knn_entropy dequantised the condition (see there)
  /// cap_by_gaussian_bound: the k-NN estimate and the bound it was capped by (NaN otherwise), and
  /// whether the bound was the smaller.
  double knn = std::numeric_limits<double>::quiet_NaN();
  double gaussian_bound = std::numeric_limits<double>::quiet_NaN();
  bool capped = false;
};

/// Ĥ of the rows of `x` [n, d] (n > k), in float64 whatever the input's dtype; O(n² d) time in
/// blocks of rows, O(n) memory beyond a block. Throws std::invalid_argument when a row has k or more
/// exact duplicates (ρ_k = 0: discrete data has no differential entropy).
EntropyEstimate knn_entropy(const torch::Tensor& x, int64_t k = 3);

/// Ĥ(y | c) = Ĥ(y, c) - Ĥ(c) from paired rows y [n, d_y], c [n, d_c]: the conditional entropy that
/// the cross-entropy of a conditional model (SBI: F = -mean log q(θ | x)) has in it. Both estimates
/// are k-NN ones; their biases partly cancel, not fully (the joint has more dimensions).
/// A discrete condition (SBI's sir: counts, with repeated rows) has no differential entropy, so when
/// c has repeated rows the estimate is of Ĥ(y | c') with c' = dequantise_ties(c) (`dequantised` set):
/// c is a function of c', and c' depends on y only through c, so H(y | c') = H(y | c) exactly.
EntropyEstimate conditional_knn_entropy(const torch::Tensor& y, const torch::Tensor& c, int64_t k = 3);

/// c + U·w_j in every column j of c [n, d] whose values repeat, U ~ Uniform[0, 1) drawn from `seed`
/// and w_j the smallest gap between that column's distinct values (1 for a constant column); other
/// columns unchanged. The intervals [v, v + w_j) of distinct values do not overlap, so c is recovered
/// from the result (each entry's interval): no information about anything else is added or lost.
/// float64, on the CPU.
torch::Tensor dequantise_ties(const torch::Tensor& c, uint64_t seed);

/// The maximum-entropy bound H(x) <= ½ log det(2πe Σ), Σ the covariance of x [n, d]: no density
/// with that covariance has more entropy. log det Σ is estimated without bias for Gaussian rows
/// (the sample scatter is Wishart with n - 1 degrees of freedom: E log det = log det Σ + d log 2 +
/// Σ_i ψ((n - i) / 2)), so for Gaussian data the bound is the entropy itself. NaN when n - 1 < d
/// or the scatter is singular.
double gaussian_entropy_bound(const torch::Tensor& x);

/// H(y | c) <= H(y - A c - b) <= ½ log det(2πe Σ_r), Σ_r the covariance of the residual of y's
/// least-squares regression on [1, c] (conditioning cannot raise entropy; the residual's entropy is
/// at most the Gaussian one). The same Wishart correction, with n - rank([1, c]) degrees of freedom;
/// exact for a linear-Gaussian model (sbibm's gaussian_linear). NaN when too few rows.
double gaussian_conditional_entropy_bound(const torch::Tensor& y, const torch::Tensor& c);

/// Settings of neural_gaussian_conditional_entropy_bound; the defaults are the ones measured in the
/// README (sir and gaussian_linear, 90 to 2,250 pairs).
struct NeuralGaussianBoundOptions {
  int64_t folds = 5;
  int64_t hidden = 64;  ///< units in each of the MLP's two tanh layers
  int64_t batch_size = 128;
  int64_t max_epochs = 300;
  /// Early stopping: the fit ends when the NLL of a held-back tenth of its training rows has not
  /// improved for more than `patience` epochs; the best epoch's parameters are kept.
  int64_t patience = 20;
  double learning_rate = 1e-3;
  uint64_t seed = 0;
};

/// H(y | c) <= E[-log N(y; μ(c), L(c) L(c)ᵀ)] for any functions μ, L: the cross-entropy of any
/// conditional density bounds the conditional entropy. μ and the Cholesky factor L (positive
/// diagonal by exp) are one MLP of c, fitted by maximum likelihood (Adam) and scored on held-out
/// rows: K-fold cross-fitting, every row scored once by a model that did not see it, so the value
/// estimates the bound without the fit's optimism. Unlike gaussian_conditional_entropy_bound it
/// follows a mean that is nonlinear in c and a spread that changes with c (SBI's sir: within 0.3
/// nats of NPE's held-out NLL, where the linear bound is 2-3.5 nats above it), but it is looser
/// where a linear fit is exact and rows are few (gaussian_linear at 90 pairs: 4 nats above).
/// float64 on the CPU; its own generator (the global one is not touched). NaN when fewer than
/// 2·folds rows.
double neural_gaussian_conditional_entropy_bound(const torch::Tensor& y, const torch::Tensor& c,
                                                 const NeuralGaussianBoundOptions& options = {});

/// The tighter of two upper bounds on one entropy (-Hn: the linear and the neural Gaussian's); a
/// bound that could not be computed (NaN) gives way to the other.
double tighter_bound(double a, double b);

/// `-Hc`: the k-NN estimate `e` capped by a Gaussian bound on the same entropy. In more than a few
/// dimensions the k-NN estimate is biased upwards by several nats at the sizes these studies use
/// (README: 4 nats on gaussian_linear at 90 pairs); a value above a bound the true entropy cannot
/// exceed is known to be too high, so the bound replaces it. Records both (`knn`, `gaussian_bound`).
EntropyEstimate cap_by_gaussian_bound(EntropyEstimate e, double bound);

}  // namespace jeffreys::metrics
