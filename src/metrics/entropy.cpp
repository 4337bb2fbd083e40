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

}  // namespace jeffreys::metrics
