#include "jeffreys/metrics/mmd.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace jeffreys::metrics {

namespace {

/// Kernel-matrix entries per block: 2^21 float64 values (16 MB) plus a few temporaries of that size.
constexpr int64_t kBlockEntries = int64_t{1} << 21;

/// The kernel matrix exp(-gamma ‖a_i - b_j‖²) of a block of rows `a` against all of `b`.
torch::Tensor block_kernel(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& b_sq, double gamma) {
  // ‖a‖² + ‖b‖² - 2 a·b: one matrix product; rounding can make it slightly negative, hence the clamp.
  auto d2 = torch::addmm(a.square().sum(1).unsqueeze(1) + b_sq, a, b.t(), 1.0, -2.0);
  return d2.clamp_min_(0).mul_(-gamma).exp_();
}

int64_t block_rows(int64_t columns) { return std::max<int64_t>(1, kBlockEntries / std::max<int64_t>(1, columns)); }

/// Σ_i Σ_j exp(-gamma ‖a_i - b_j‖²), a block of rows of `a` at a time.
double kernel_sum(const torch::Tensor& a, const torch::Tensor& b, double gamma) {
  const auto b_sq = b.square().sum(1).unsqueeze(0);
  const int64_t rows = block_rows(b.size(0));
  auto total = torch::zeros({}, a.options());
  for (int64_t start = 0; start < a.size(0); start += rows)
    total += block_kernel(a.narrow(0, start, std::min(rows, a.size(0) - start)), b, b_sq, gamma).sum();
  return total.item<double>();
}

/// Σ_i Σ_j exp(-gamma ‖a_i - a_j‖²) from the upper triangle only (the matrix is symmetric): each
/// row block is taken against the rows from its own start on; its square diagonal part counts once,
/// the rest twice. Half the work of kernel_sum(a, a).
double self_kernel_sum(const torch::Tensor& a, double gamma) {
  const auto a_sq = a.square().sum(1).unsqueeze(0);
  const int64_t n = a.size(0), rows = block_rows(n);
  auto total = torch::zeros({}, a.options());
  for (int64_t start = 0; start < n; start += rows) {
    const int64_t r = std::min(rows, n - start);
    const auto k = block_kernel(a.narrow(0, start, r), a.narrow(0, start, n - start), a_sq.narrow(1, start, n - start), gamma);
    total += 2 * k.sum() - k.narrow(1, 0, r).sum();
  }
  return total.item<double>();
}

void check_sample(const torch::Tensor& t, const char* name) {
  TORCH_CHECK(t.defined() && t.dim() == 2, "mmd2: ", name, " must be [n, D], got ",
              t.defined() ? t.sizes() : torch::IntArrayRef{});
  TORCH_CHECK(t.size(0) >= 2, "mmd2: ", name, " needs at least 2 rows for the unbiased estimate, got ", t.size(0));
}

}  // namespace

double median_heuristic_bandwidth(const torch::Tensor& points, int64_t max_points) {
  TORCH_CHECK(points.defined() && points.dim() == 2 && points.size(0) >= 2,
              "median_heuristic_bandwidth: points must be [N >= 2, D]");
  TORCH_CHECK(max_points >= 2, "median_heuristic_bandwidth: max_points must be >= 2");
  torch::NoGradGuard g;
  auto p = points.detach().to(torch::kDouble);
  if (p.size(0) > max_points) {
    // Even strides over the pooled rows take x and y in proportion, and keep the metric deterministic.
    auto idx = torch::linspace(0, static_cast<double>(p.size(0) - 1), max_points, p.options()).round().to(torch::kLong);
    p = p.index_select(0, idx);
  }
  const int64_t n = p.size(0);
  auto iu = torch::triu_indices(n, n, 1, torch::TensorOptions().dtype(torch::kLong).device(p.device()));
  auto dist = torch::cdist(p, p).index({iu[0], iu[1]});
  const double median = dist.median().item<double>();
  return median > 0 ? median : 1.0;
}

double mmd2(const torch::Tensor& x, const torch::Tensor& y, double bandwidth) {
  check_sample(x, "x");
  check_sample(y, "y");
  TORCH_CHECK(x.size(1) == y.size(1), "mmd2: x and y must have the same number of columns, got ", x.size(1),
              " and ", y.size(1));
  torch::NoGradGuard g;
  const auto a = x.detach().to(torch::kDouble).contiguous();
  const auto b = y.detach().to(a.device(), torch::kDouble).contiguous();
  if (!(bandwidth > 0)) bandwidth = median_heuristic_bandwidth(torch::cat({a, b}));
  const double gamma = 1.0 / (2.0 * bandwidth * bandwidth);
  const double m = static_cast<double>(a.size(0)), n = static_cast<double>(b.size(0));
  // The diagonals k(x_i, x_i) = 1 are what the unbiased estimator leaves out.
  const double kxx = self_kernel_sum(a, gamma) - m;
  const double kyy = self_kernel_sum(b, gamma) - n;
  const double kxy = kernel_sum(a, b, gamma);
  return kxx / (m * (m - 1)) + kyy / (n * (n - 1)) - 2.0 * kxy / (m * n);
}

}  // namespace jeffreys::metrics
