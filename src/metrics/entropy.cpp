#include "jeffreys/metrics/entropy.h"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace jeffreys::metrics {
namespace {
/// ψ(m) for an integer m >= 1: -γ + Σ_{j<m} 1/j.
double digamma_int(int64_t m) {
  double s = -0.57721566490153286061;
  for (int64_t j = 1; j < m; ++j) s += 1.0 / static_cast<double>(j);
  return s;
}
}  // namespace

EntropyEstimate knn_entropy(const torch::Tensor& x_in, int64_t k) {
  if (x_in.dim() != 2) throw std::invalid_argument("knn_entropy: samples must be [n, d]");
  const int64_t n = x_in.size(0), d = x_in.size(1);
  if (k < 1) throw std::invalid_argument("knn_entropy: k must be >= 1");
  if (n <= k) throw std::invalid_argument("knn_entropy: " + std::to_string(n) + " samples for k = " + std::to_string(k));
  torch::NoGradGuard g;
  const auto x = x_in.to(torch::kCPU, torch::kDouble).contiguous();
  auto sq = (x * x).sum(1);
  double sum_log_rho = 0;
  const int64_t block = 512;
  for (int64_t a = 0; a < n; a += block) {
    const int64_t m = std::min(block, n - a);
    auto xa = x.narrow(0, a, m);
    // ‖a - b‖² by the expansion (one matrix product), clamped at 0 against rounding; each row's own
    // distance set to +∞ so that it is not its own neighbour.
    auto d2 = (sq.narrow(0, a, m).unsqueeze(1) + sq.unsqueeze(0) - 2 * torch::mm(xa, x.t())).clamp_min(0);
    d2.narrow(1, a, m).diagonal().fill_(std::numeric_limits<double>::infinity());
    auto kth = std::get<0>(d2.topk(k, 1, /*largest=*/false, /*sorted=*/true)).select(1, k - 1);
    if ((kth <= 0).any().item<bool>())
      throw std::invalid_argument("knn_entropy: a row has " + std::to_string(k) +
                                  " or more exact duplicates; the k-NN estimate needs continuous data");
    sum_log_rho += 0.5 * kth.log().sum().item<double>();
  }
  const double dd = static_cast<double>(d);
  const double log_unit_ball = 0.5 * dd * std::log(M_PI) - std::lgamma(0.5 * dd + 1.0);
  EntropyEstimate e;
  e.value = digamma_int(n) - digamma_int(k) + log_unit_ball + dd * sum_log_rho / static_cast<double>(n);
  e.n = n;
  e.dims = d;
  e.k = k;
  return e;
}

torch::Tensor dequantise_ties(const torch::Tensor& c_in, uint64_t seed) {
  if (c_in.dim() != 2) throw std::invalid_argument("dequantise_ties: samples must be [n, d]");
  torch::NoGradGuard g;
  auto c = c_in.to(torch::kCPU, torch::kDouble).clone();
  auto gen = at::detail::createCPUGenerator(seed);
  const int64_t n = c.size(0);
  for (int64_t j = 0; j < c.size(1); ++j) {
    auto col = c.select(1, j);
    const auto distinct = std::get<0>(at::unique_dim(col, 0));  // sorted
    if (distinct.size(0) == n) continue;  // no ties: already continuous as far as the estimate sees
    const double width = distinct.size(0) < 2 ? 1.0 : torch::diff(distinct).min().item<double>();
    col.add_(torch::rand({n}, gen, torch::kDouble) * width);
  }
  return c;
}

EntropyEstimate conditional_knn_entropy(const torch::Tensor& y, const torch::Tensor& c_in, int64_t k) {
  if (y.dim() != 2 || c_in.dim() != 2 || y.size(0) != c_in.size(0))
    throw std::invalid_argument("conditional_knn_entropy: y [n, d_y] and c [n, d_c] with the same n");
  auto c = c_in.to(torch::kCPU, torch::kDouble);
  const bool repeated = std::get<0>(at::unique_dim(c, 0)).size(0) < c.size(0);
  // A fixed seed: the same data give the same estimate, and the caller's random stream is untouched.
  if (repeated) c = dequantise_ties(c, 0x6a656666);
  auto joint = knn_entropy(torch::cat({y.to(torch::kCPU, torch::kDouble), c}, 1), k);
  auto marginal = knn_entropy(c, k);
  EntropyEstimate e = joint;
  e.value = joint.value - marginal.value;
  e.dims = y.size(1);
  e.dequantised = repeated;
  return e;
}

namespace {
/// ½ log det(2πe Σ̂) from a scatter matrix S (Σ r rᵀ) with `dof` degrees of freedom, log det Σ̂
/// corrected for the Wishart bias of log det S.
double gaussian_entropy_of_scatter(const torch::Tensor& scatter, int64_t dof) {
  const int64_t d = scatter.size(0);
  if (dof < d) return std::numeric_limits<double>::quiet_NaN();
  auto info = torch::linalg_cholesky_ex(scatter);
  if (std::get<1>(info).item<int64_t>() != 0) return std::numeric_limits<double>::quiet_NaN();
  const double log_det_scatter = 2.0 * std::get<0>(info).diagonal().log().sum().item<double>();
  // E log det S = log det Σ + d log 2 + Σ_{i=1..d} ψ((dof - i + 1) / 2).
  const auto halves = (static_cast<double>(dof) + 1.0 - torch::arange(1, d + 1, torch::kDouble)) / 2.0;
  const double log_det = log_det_scatter - static_cast<double>(d) * std::log(2.0) - torch::digamma(halves).sum().item<double>();
  return 0.5 * (static_cast<double>(d) * std::log(2.0 * M_PI * M_E) + log_det);
}
}  // namespace

double gaussian_entropy_bound(const torch::Tensor& x_in) {
  if (x_in.dim() != 2) throw std::invalid_argument("gaussian_entropy_bound: samples must be [n, d]");
  torch::NoGradGuard g;
  const auto x = x_in.to(torch::kCPU, torch::kDouble);
  const auto r = x - x.mean(0, true);
  return gaussian_entropy_of_scatter(torch::mm(r.t(), r), x.size(0) - 1);
}

double gaussian_conditional_entropy_bound(const torch::Tensor& y_in, const torch::Tensor& c_in) {
  if (y_in.dim() != 2 || c_in.dim() != 2 || y_in.size(0) != c_in.size(0))
    throw std::invalid_argument("gaussian_conditional_entropy_bound: y [n, d_y] and c [n, d_c] with the same n");
  torch::NoGradGuard g;
  const auto y = y_in.to(torch::kCPU, torch::kDouble);
  const auto c = c_in.to(torch::kCPU, torch::kDouble);
  const auto design = torch::cat({torch::ones({c.size(0), 1}, torch::kDouble), c}, 1);
  // gelsd: least squares by SVD, so a constant or collinear column of c costs a degree of freedom
  // instead of failing.
  const auto fit = torch::linalg_lstsq(design, y, c10::nullopt, c10::string_view("gelsd"));
  const auto residual = y - torch::mm(design, std::get<0>(fit));
  const int64_t rank = std::get<2>(fit).item<int64_t>();
  return gaussian_entropy_of_scatter(torch::mm(residual.t(), residual), y.size(0) - rank);
}

EntropyEstimate cap_by_gaussian_bound(EntropyEstimate e, double bound) {
  e.knn = e.value;
  e.gaussian_bound = bound;
  e.capped = std::isfinite(bound) && bound < e.value;
  if (e.capped) e.value = bound;
  return e;
}

}  // namespace jeffreys::metrics
