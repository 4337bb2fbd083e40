#pragma once
/// Sample-quality metrics on feature vectors (e.g. a classifier's penultimate layer): the Fréchet
/// distance (FID; Heusel et al. 2017) and improved precision and recall (Kynkäänniemi et al. 2019).
#include <torch/types.h>

#include <cstdint>

namespace jeffreys::metrics {

/// A Gaussian fitted to features: mean [D] and unbiased covariance [D, D], float64.
struct FeatureGaussian {
  torch::Tensor mean, cov;
};

/// Mean and unbiased covariance of `features` [N, D], N >= 2, in float64 on the features' device;
/// throws std::invalid_argument for another shape or non-finite values.
FeatureGaussian fit_gaussian(const torch::Tensor& features);

/// Fréchet distance ||m1-m2||^2 + Tr(C1 + C2 - 2 (C1 C2)^{1/2}) (FID when the features are a classifier's). Compute Tr((C1 C2)^{1/2}) stably in float64 as the sum of sqrt of the (clamped >= 0) eigenvalues of the symmetric matrix S1 C2 S1 with S1 = C1^{1/2} from eigh — no non-symmetric sqrtm.
///
/// C1 C2 = S1 (S1 C2 S1) S1^{-1} has the eigenvalues of S1 C2 S1, so the trace is the same; singular
/// covariances (N <= D) are fine. The result is clipped at 0 (rounding can make it -1e-15).
double frechet_distance(const FeatureGaussian& a, const FeatureGaussian& b);
/// frechet_distance of the Gaussians fitted to features_a [N, D] and features_b [M, D].
double frechet_distance(const torch::Tensor& features_a, const torch::Tensor& features_b);

/// Improved precision and recall (Kynkäänniemi et al. 2019) with k-nearest-neighbour balls: precision = share of generated points inside at least one real point's ball (radius = distance to its k-th nearest other real point); recall = the same with the roles swapped. Distances in chunks (e.g. 1024 rows at a time, torch::cdist or the ||a||²+||b||²-2ab expansion clamped at 0) so 10,000 x 10,000 in 128-D runs in seconds without a 10^8 matrix in memory at once.
struct PrecisionRecall {
  double precision = 0, recall = 0;
};

/// `real` [N, D] and `generated` [M, D] with N, M > k >= 1; a point on a ball's surface counts as
/// inside (as in the authors' code). Computed in float64 on real's device.
PrecisionRecall precision_recall(const torch::Tensor& real, const torch::Tensor& generated, int64_t k = 3);

}  // namespace jeffreys::metrics
