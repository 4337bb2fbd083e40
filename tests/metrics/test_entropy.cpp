// The Kozachenko–Leonenko entropy estimate against Gaussians whose entropy is known in closed form.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <iostream>

#include "jeffreys/metrics/entropy.h"

namespace mt = jeffreys::metrics;

namespace {
const auto kD = torch::TensorOptions().dtype(torch::kDouble);

/// H of N(·, Σ) = ½ log det(2πe Σ).
double gaussian_entropy(const torch::Tensor& cov) {
  const double d = static_cast<double>(cov.size(0));
  return 0.5 * (d * std::log(2 * M_PI * M_E) + torch::logdet(cov).item<double>());
}

/// n draws of N(mean, L Lᵀ) with a fixed, non-diagonal L.
std::pair<torch::Tensor, torch::Tensor> correlated_gaussian(int64_t n, int64_t d, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto L = torch::tril(torch::randn({d, d}, gen, kD) * 0.4) + torch::diag(torch::linspace(0.5, 2.0, d, kD));
  auto x = torch::randn({n, d}, gen, kD).mm(L.t()) + 3.0;
  return {x, L.mm(L.t())};
}
}  // namespace

TEST(MetricsEntropy, GaussiansWithinStatedTolerance) {
  // n = 4000, k = 3 (bias grows with d at fixed n; errors seen are printed).
  const std::vector<std::pair<int64_t, double>> cases{{1, 0.05}, {2, 0.06}, {5, 0.15}};
  for (const auto& [d, tol] : cases) {
    auto [x, cov] = correlated_gaussian(4000, d, 100 + d);
    const auto e = mt::knn_entropy(x);
    EXPECT_NEAR(e.value, gaussian_entropy(cov), tol) << "d = " << d;
    std::cout << "[ entropy  ] d = " << d << ": estimate " << e.value << ", truth " << gaussian_entropy(cov) << "\n";
    EXPECT_EQ(e.n, 4000);
    EXPECT_EQ(e.dims, d);
    EXPECT_EQ(e.k, 3);
  }
}

// The known limitation, measured: in 10-D the estimate at n = 4000 is about 2.4 nats too high for this
// correlated Gaussian (the k-NN balls are far from small where the density varies), so -H levels are
// trustworthy in a few dimensions only (SBI: the joint (θ, x) dimension counts).
TEST(MetricsEntropy, TenDimensionsOverestimateAsDocumented) {
  auto [x, cov] = correlated_gaussian(4000, 10, 110);
  const double bias = mt::knn_entropy(x).value - gaussian_entropy(cov);
  EXPECT_GT(bias, 1.0);
  EXPECT_LT(bias, 3.5);
}

TEST(MetricsEntropy, ScalingShiftsByLogDeterminant) {
  // H(a x) = H(x) + d log a holds exactly for the estimator (distances scale by a).
  auto [x, cov] = correlated_gaussian(1500, 3, 7);
  const double h = mt::knn_entropy(x, 4).value;
  EXPECT_NEAR(mt::knn_entropy(x * 2.5, 4).value, h + 3 * std::log(2.5), 1e-9);
  EXPECT_NEAR(mt::knn_entropy(x.to(torch::kFloat), 4).value, h, 1e-3);  // float32 input goes to float64
}

TEST(MetricsEntropy, ConditionalEntropyOfLinearGaussian) {
  // y = A c + e, e ~ N(0, Σ_e): H(y | c) = H(e), whatever A and the law of c.
  auto gen = at::detail::createCPUGenerator(11);
  const int64_t n = 5000;
  auto c = torch::randn({n, 2}, gen, kD) * 1.5;
  auto A = torch::tensor({{1.0, -0.5}, {0.3, 0.8}}, kD);
  auto sd = torch::tensor({0.3, 0.7}, kD);
  auto y = c.mm(A.t()) + torch::randn({n, 2}, gen, kD) * sd;
  const double truth = gaussian_entropy(torch::diag(sd * sd));
  EXPECT_NEAR(mt::conditional_knn_entropy(y, c).value, truth, 0.12);
  // Far from the unconditional entropy of y, which includes the spread of A c.
  EXPECT_GT(mt::knn_entropy(y).value - truth, 1.0);
}

TEST(MetricsEntropy, RefusesWhatHasNoDifferentialEntropy) {
  auto x = torch::randn({50, 2}, kD);
  auto dup = torch::cat({x, x, x, x});  // every row four times: ρ_3 = 0
  EXPECT_THROW(mt::knn_entropy(dup, 3), std::invalid_argument);
  EXPECT_THROW(mt::knn_entropy(torch::cat({x, x}), 1), std::invalid_argument);  // one duplicate is the 1st neighbour
  EXPECT_NO_THROW(mt::knn_entropy(torch::cat({x, x}), 2));                      // but not the 2nd
  EXPECT_THROW(mt::knn_entropy(x.narrow(0, 0, 3), 3), std::invalid_argument);   // n <= k
}
