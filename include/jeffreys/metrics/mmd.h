#pragma once
/// Maximum mean discrepancy (Gretton et al., "A Kernel Two-Sample Test", JMLR 2012): a sample-only
/// distance between distributions, for models or data sets whose density is not known.
#include <torch/types.h>

#include <cstdint>

namespace jeffreys::metrics {

/// Unbiased squared maximum mean discrepancy with a Gaussian kernel; bandwidth <= 0 uses the median heuristic on the pooled sample.
/// MMD²_u = Σ_{i≠j} k(x_i, x_j) / (m(m-1)) + Σ_{i≠j} k(y_i, y_j) / (n(n-1)) - 2 Σ_{i,j} k(x_i, y_j) / (mn)
/// with k(a, b) = exp(-‖a - b‖² / (2 h²)); `x` [m, D], `y` [n, D], m, n >= 2. Computed in float64
/// on x's device, the kernel matrices in row blocks of about 2M entries, so 10k × 10k needs tens of MB.
/// It can be slightly negative when the distributions are equal (it is unbiased, not clipped).
double mmd2(const torch::Tensor& x, const torch::Tensor& y, double bandwidth = -1);

/// The median heuristic: the (lower) median of the pairwise distances ‖a_i - a_j‖, i < j, of
/// `points` [N, D], taken on at most `max_points` rows picked at even strides (deterministic).
/// Returns 1 when every distance is zero. Compute it once to compare several models on one scale.
double median_heuristic_bandwidth(const torch::Tensor& points, int64_t max_points = 1000);

}  // namespace jeffreys::metrics
