#include "jeffreys/metrics/fid.h"

#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

namespace jeffreys::metrics {

namespace {

/// Distance-matrix entries per block: 2^22 float64 values (32 MB), so 10k x 10k never exists at once.
constexpr int64_t kBlockEntries = int64_t{1} << 22;

std::string shape_of(const torch::Tensor& t) {
  if (!t.defined()) return "an undefined tensor";
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

void check_features(const torch::Tensor& t, const char* fn, const char* name, int64_t min_rows, const char* why) {
  if (!t.defined() || t.dim() != 2)
    throw std::invalid_argument(std::string(fn) + ": " + name + " must be [N, D], got " + shape_of(t));
  if (t.size(0) < min_rows)
    throw std::invalid_argument(std::string(fn) + ": " + name + " has " + std::to_string(t.size(0)) + " rows, needs at least " +
                                std::to_string(min_rows) + " " + why);
  if (t.size(1) < 1) throw std::invalid_argument(std::string(fn) + ": " + name + " has no columns");
}

void check_same_width(const torch::Tensor& a, const torch::Tensor& b, const char* fn) {
  if (a.size(1) != b.size(1))
    throw std::invalid_argument(std::string(fn) + ": the two feature sets have " + std::to_string(a.size(1)) + " and " +
                                std::to_string(b.size(1)) + " columns");
}

void check_gaussian(const FeatureGaussian& g, const char* name) {
  if (!g.mean.defined() || g.mean.dim() != 1 || !g.cov.defined() || g.cov.dim() != 2 ||
      g.cov.size(0) != g.mean.size(0) || g.cov.size(1) != g.mean.size(0))
    throw std::invalid_argument(std::string("frechet_distance: ") + name + " must have mean [D] and cov [D, D], got " +
                                shape_of(g.mean) + " and " + shape_of(g.cov));
}

/// The symmetric square root of a covariance; eigenvalues that rounding pushed below 0 count as 0.
torch::Tensor psd_sqrt(const torch::Tensor& c) {
  auto [values, vectors] = torch::linalg_eigh(c);
  return (vectors * values.clamp_min(0).sqrt().unsqueeze(0)).mm(vectors.t());
}

int64_t block_rows(int64_t columns) { return std::max<int64_t>(1, kBlockEntries / std::max<int64_t>(1, columns)); }

/// Squared distances of the rows of `a` to all rows of `b` (b_sq = ‖b_j‖² as [1, M]); one matrix
/// product, clamped because rounding can make ‖a‖² + ‖b‖² - 2 a·b slightly negative.
torch::Tensor squared_distances(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& b_sq) {
  return torch::addmm(a.square().sum(1).unsqueeze(1) + b_sq, a, b.t(), 1.0, -2.0).clamp_min_(0);
}

/// Squared distance from each row of x to its k-th nearest other row.
torch::Tensor kth_neighbour_radii2(const torch::Tensor& x, int64_t k) {
  const int64_t n = x.size(0), rows = block_rows(n);
  const auto x_sq = x.square().sum(1).unsqueeze(0);
  auto radii = torch::empty({n}, x.options());
  for (int64_t start = 0; start < n; start += rows) {
    const int64_t r = std::min(rows, n - start);
    auto d = squared_distances(x.narrow(0, start, r), x, x_sq);
    // A point is not its own neighbour; a duplicate of it is (at distance 0).
    d.narrow(1, start, r).diagonal().fill_(std::numeric_limits<double>::infinity());
    radii.narrow(0, start, r).copy_(std::get<0>(torch::kthvalue(d, k, 1)));
  }
  return radii;
}

}  // namespace

FeatureGaussian fit_gaussian(const torch::Tensor& features) {
  check_features(features, "fit_gaussian", "features", 2, "for an unbiased covariance");
  torch::NoGradGuard g;
  const auto x = features.detach().to(torch::kDouble);
  if (!torch::isfinite(x).all().item<bool>())
    throw std::invalid_argument("fit_gaussian: features contain NaN or infinite values");
  auto mean = x.mean(0);
  const auto centred = x - mean;
  auto cov = centred.t().mm(centred) / static_cast<double>(x.size(0) - 1);
  return {mean, cov};
}

double frechet_distance(const FeatureGaussian& a, const FeatureGaussian& b) {
  check_gaussian(a, "a");
  check_gaussian(b, "b");
  if (a.mean.size(0) != b.mean.size(0))
    throw std::invalid_argument("frechet_distance: the Gaussians have dimensions " + std::to_string(a.mean.size(0)) +
                                " and " + std::to_string(b.mean.size(0)));
  torch::NoGradGuard g;
  const auto device = a.mean.device();
  const auto m1 = a.mean.to(torch::kDouble), c1 = a.cov.to(torch::kDouble);
  const auto m2 = b.mean.to(device, torch::kDouble), c2 = b.cov.to(device, torch::kDouble);
  const auto s1 = psd_sqrt(c1);
  auto m = s1.mm(c2).mm(s1);
  // Symmetric in exact arithmetic; made so exactly, since eigvalsh reads only one triangle.
  m = (m + m.t()) * 0.5;
  const double tr_sqrt = torch::linalg_eigvalsh(m).clamp_min(0).sqrt().sum().item<double>();
  const double mean_term = (m1 - m2).square().sum().item<double>();
  const double value = mean_term + c1.trace().item<double>() + c2.trace().item<double>() - 2.0 * tr_sqrt;
  return std::max(0.0, value);
}

double frechet_distance(const torch::Tensor& features_a, const torch::Tensor& features_b) {
  check_features(features_a, "frechet_distance", "features_a", 2, "for an unbiased covariance");
  check_features(features_b, "frechet_distance", "features_b", 2, "for an unbiased covariance");
  check_same_width(features_a, features_b, "frechet_distance");
  return frechet_distance(fit_gaussian(features_a), fit_gaussian(features_b));
}

PrecisionRecall precision_recall(const torch::Tensor& real, const torch::Tensor& generated, int64_t k) {
  if (k < 1) throw std::invalid_argument("precision_recall: k must be >= 1, got " + std::to_string(k));
  const std::string why = "(more than k = " + std::to_string(k) + ")";
  check_features(real, "precision_recall", "real", k + 1, why.c_str());
  check_features(generated, "precision_recall", "generated", k + 1, why.c_str());
  check_same_width(real, generated, "precision_recall");
  torch::NoGradGuard g;
  const auto r = real.detach().to(torch::kDouble).contiguous();
  const auto x = generated.detach().to(r.device(), torch::kDouble).contiguous();
  const auto real_radii2 = kth_neighbour_radii2(r, k).unsqueeze(0);
  const auto gen_radii2 = kth_neighbour_radii2(x, k);

  // One pass over the generated-to-real distances serves both: a row of a block says whether that
  // generated point is in some real ball, a column whether that real point is in some generated ball.
  const int64_t n_real = r.size(0), n_gen = x.size(0), rows = block_rows(n_real);
  const auto r_sq = r.square().sum(1).unsqueeze(0);
  int64_t gen_inside = 0;
  auto real_inside = torch::zeros({n_real}, r.options().dtype(torch::kBool));
  for (int64_t start = 0; start < n_gen; start += rows) {
    const int64_t len = std::min(rows, n_gen - start);
    const auto d = squared_distances(x.narrow(0, start, len), r, r_sq);
    gen_inside += (d <= real_radii2).any(1).sum().item<int64_t>();
    real_inside.logical_or_((d <= gen_radii2.narrow(0, start, len).unsqueeze(1)).any(0));
  }
  PrecisionRecall out;
  out.precision = static_cast<double>(gen_inside) / static_cast<double>(n_gen);
  out.recall = real_inside.sum().item<double>() / static_cast<double>(n_real);
  return out;
}

}  // namespace jeffreys::metrics
