// Unbiased MMD²: against a dense reference, near zero for equal distributions, positive otherwise.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "jeffreys/metrics/mmd.h"

namespace mt = jeffreys::metrics;

namespace {

const auto kD = torch::TensorOptions().dtype(torch::kDouble);

torch::Tensor gram(const torch::Tensor& a, const torch::Tensor& b, double h) {
  return torch::exp(-torch::cdist(a, b).square() / (2 * h * h));
}

/// The unbiased estimator written out densely, and the biased (V-statistic) one beside it.
double dense_mmd2(const torch::Tensor& x, const torch::Tensor& y, double h, bool biased = false) {
  const double m = static_cast<double>(x.size(0)), n = static_cast<double>(y.size(0));
  auto kxx = gram(x, x, h), kyy = gram(y, y, h), kxy = gram(x, y, h);
  if (biased) return (kxx.mean() + kyy.mean() - 2 * kxy.mean()).item<double>();
  return ((kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1)) + (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1)) -
          2 * kxy.sum() / (m * n))
      .item<double>();
}

}  // namespace

TEST(Mmd, MatchesDenseFormulaAcrossBlocks) {
  auto gen = at::detail::createCPUGenerator(71);
  // Kernel matrices of 1500 x 2200 and 2200 x 2200 take several row blocks of 2^21 entries.
  auto x = torch::randn({1500, 3}, gen, kD);
  auto y = torch::randn({2200, 3}, gen, kD) * 1.2 + 0.3;
  EXPECT_NEAR(mt::mmd2(x, y, 0.7), dense_mmd2(x, y, 0.7), 1e-12);
  // Default bandwidth is the median heuristic on the pooled sample.
  const double h = mt::median_heuristic_bandwidth(torch::cat({x, y}));
  EXPECT_NEAR(mt::mmd2(x, y), dense_mmd2(x, y, h), 1e-12);
  // float32 input is computed in float64.
  EXPECT_NEAR(mt::mmd2(x.to(torch::kFloat), y.to(torch::kFloat), 0.7), dense_mmd2(x, y, 0.7), 1e-6);
}

TEST(Mmd, MedianHeuristic) {
  // Distances 1, 3, 2: the median is 2.
  EXPECT_DOUBLE_EQ(mt::median_heuristic_bandwidth(torch::tensor({{0.0}, {1.0}, {3.0}}, kD)), 2.0);
  // Identical points: fall back to 1 rather than a zero bandwidth.
  EXPECT_DOUBLE_EQ(mt::median_heuristic_bandwidth(torch::ones({5, 2}, kD)), 1.0);
  // Subsampling keeps the scale: for N(0, I) in 2-D the median distance is 2 sqrt(ln 2) ≈ 1.665.
  auto gen = at::detail::createCPUGenerator(72);
  const double h = mt::median_heuristic_bandwidth(torch::randn({20000, 2}, gen, kD));
  EXPECT_NEAR(h, 2 * std::sqrt(std::log(2.0)), 0.05);
}

TEST(Mmd, NearZeroForOneDistributionClearlyPositiveForShifted) {
  auto gen = at::detail::createCPUGenerator(73);
  const int64_t n = 2000;
  auto x = torch::randn({n, 2}, gen, kD), y = torch::randn({n, 2}, gen, kD);
  // Under equal distributions n·MMD²_u converges in law to a weighted sum of centred χ²'s whose
  // scale is at most that of the kernel (values in [0, 1]): |MMD²_u| is O(1/n). 5/n is a generous bound.
  const double same = mt::mmd2(x, y);
  EXPECT_LT(std::abs(same), 5.0 / n) << same;
  const double shifted = mt::mmd2(x, torch::randn({n, 2}, gen, kD) + torch::tensor({1.0, 0.0}, kD));
  EXPECT_GT(shifted, 20 * 5.0 / n) << shifted;
  const double scaled = mt::mmd2(x, torch::randn({n, 2}, gen, kD) * 2.0);
  EXPECT_GT(scaled, 20 * 5.0 / n) << scaled;
}

TEST(Mmd, UnbiasedOverRepeatsWhereTheVStatisticIsNot) {
  auto gen = at::detail::createCPUGenerator(74);
  const int reps = 200, n = 50;
  std::vector<double> u, v;
  for (int r = 0; r < reps; ++r) {
    auto x = torch::randn({n, 2}, gen, kD), y = torch::randn({n, 2}, gen, kD);
    u.push_back(mt::mmd2(x, y, 1.0));
    v.push_back(dense_mmd2(x, y, 1.0, /*biased=*/true));
  }
  auto mean = [](const std::vector<double>& a) {
    double s = 0;
    for (double e : a) s += e;
    return s / static_cast<double>(a.size());
  };
  const double mu = mean(u);
  double var = 0;
  for (double e : u) var += (e - mu) * (e - mu);
  const double se = std::sqrt(var / (reps - 1) / reps);
  EXPECT_LT(std::abs(mu), 4 * se) << "mean " << mu << ", standard error " << se;
  // The V-statistic's bias, 2 (1 - E k(x, x')) / n, is many standard errors: the check has power.
  EXPECT_GT(mean(v), 10 * se) << "V-statistic mean " << mean(v);
}

TEST(Mmd, RejectsBadShapes) {
  auto x = torch::zeros({5, 2}, kD);
  EXPECT_THROW(mt::mmd2(x, torch::zeros({5, 3}, kD)), c10::Error);
  EXPECT_THROW(mt::mmd2(x, torch::zeros({1, 2}, kD)), c10::Error);
  EXPECT_THROW(mt::mmd2(torch::zeros({5}, kD), x), c10::Error);
}
