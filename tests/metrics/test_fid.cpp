// Fréchet distance against closed forms (diagonal, a non-commuting 2 x 2 pair, the eigenvalues of
// C1 C2 in 6-D) and from samples; precision and recall on a grid where the answer is counted by
// hand, and against a brute-force version across several distance blocks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "jeffreys/metrics/fid.h"

namespace mt = jeffreys::metrics;

namespace {

const auto kD = torch::TensorOptions().dtype(torch::kDouble);

torch::Tensor vec(std::vector<double> v) { return torch::tensor(v, kD); }
torch::Tensor mat2(double a, double b, double c, double d) { return torch::tensor({a, b, c, d}, kD).view({2, 2}); }

/// A random symmetric positive-definite D x D matrix.
torch::Tensor random_spd(int64_t d, at::Generator& gen) {
  auto b = torch::randn({d, d}, gen, kD);
  return b.mm(b.t()) + 0.1 * torch::eye(d, kD);
}

/// Tr((C1 C2)^{1/2}) from the eigenvalues of the non-symmetric product itself: another algorithm
/// than the one under test (which uses C1^{1/2} C2 C1^{1/2}).
double trace_sqrt_product(const torch::Tensor& c1, const torch::Tensor& c2) {
  const auto ev = torch::linalg_eigvals(c1.mm(c2));
  EXPECT_LT(torch::imag(ev).abs().max().item<double>(), 1e-9);
  return torch::real(ev).clamp_min(0).sqrt().sum().item<double>();
}

double closed_form(const mt::FeatureGaussian& a, const mt::FeatureGaussian& b) {
  return (a.mean - b.mean).square().sum().item<double>() + a.cov.trace().item<double>() + b.cov.trace().item<double>() -
         2 * trace_sqrt_product(a.cov, b.cov);
}

/// n samples of N(mean, cov).
torch::Tensor sample(const mt::FeatureGaussian& g, int64_t n, at::Generator& gen) {
  const auto l = torch::linalg_cholesky(g.cov);
  return torch::randn({n, g.mean.size(0)}, gen, kD).mm(l.t()) + g.mean;
}

/// Precision and recall written out directly: differences instead of the expansion, every ball
/// tested, in slices of rows only to bound memory.
mt::PrecisionRecall brute_force_pr(const torch::Tensor& real, const torch::Tensor& gen, int64_t k) {
  auto d2 = [](const torch::Tensor& a, const torch::Tensor& b) {
    return (a.unsqueeze(1) - b.unsqueeze(0)).square().sum(-1);
  };
  auto radii2 = [&](const torch::Tensor& x) {
    std::vector<torch::Tensor> parts;
    for (int64_t s = 0; s < x.size(0); s += 200) {
      const int64_t r = std::min<int64_t>(200, x.size(0) - s);
      auto d = d2(x.narrow(0, s, r), x);
      d.narrow(1, s, r).diagonal().fill_(INFINITY);  // not its own neighbour
      parts.push_back(std::get<0>(d.topk(k, 1, /*largest=*/false)).select(1, k - 1));
    }
    return torch::cat(parts);
  };
  auto share_inside = [&](const torch::Tensor& points, const torch::Tensor& centres, const torch::Tensor& r2) {
    int64_t inside = 0;
    for (int64_t s = 0; s < points.size(0); s += 200) {
      const int64_t r = std::min<int64_t>(200, points.size(0) - s);
      inside += (d2(points.narrow(0, s, r), centres) <= r2.unsqueeze(0)).any(1).sum().item<int64_t>();
    }
    return static_cast<double>(inside) / static_cast<double>(points.size(0));
  };
  mt::PrecisionRecall pr;
  pr.precision = share_inside(gen, real, radii2(real));
  pr.recall = share_inside(real, gen, radii2(gen));
  return pr;
}

}  // namespace

TEST(Fid, FitGaussianMeanAndUnbiasedCovariance) {
  const auto g = mt::fit_gaussian(torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 0.f}).view({3, 2}));
  ASSERT_EQ(g.mean.dtype(), torch::kDouble);
  ASSERT_EQ(g.cov.dtype(), torch::kDouble);
  EXPECT_TRUE(torch::allclose(g.mean, vec({3, 2}), 0, 1e-12)) << g.mean;
  // Deviations (-2, 0, 2) and (0, 2, -2), divided by N - 1 = 2.
  EXPECT_TRUE(torch::allclose(g.cov, mat2(4, -2, -2, 4), 0, 1e-12)) << g.cov;
}

TEST(Fid, DiagonalCovariancesMatchClosedForm) {
  const mt::FeatureGaussian a{vec({1, 2, 3}), torch::diag(vec({1, 4, 9}))};
  const mt::FeatureGaussian b{vec({0, -1, 3.5}), torch::diag(vec({4, 1, 2.25}))};
  // ||m1 - m2||² + Σ (√a_i - √b_i)² = (1 + 9 + 0.25) + (1 + 1 + 2.25)
  const double want = 10.25 + 4.25;
  EXPECT_NEAR(mt::frechet_distance(a, b), want, 1e-9);
  EXPECT_NEAR(mt::frechet_distance(b, a), want, 1e-9);
}

TEST(Fid, NonCommutingPairMatchesClosedForm) {
  // C1 C2 = [[2, 4], [1, 8]] ≠ C2 C1. For 2 x 2, Tr(M^{1/2}) = sqrt(Tr M + 2 sqrt(det M)), and here
  // Tr(C1 C2) = 10, det(C1 C2) = 3 · 4 = 12.
  const mt::FeatureGaussian a{vec({0, 0}), mat2(2, 1, 1, 2)};
  const mt::FeatureGaussian b{vec({1, -0.5}), mat2(1, 0, 0, 4)};
  const double want = 1.25 + 4 + 5 - 2 * std::sqrt(10 + 2 * std::sqrt(12.0));
  EXPECT_NEAR(want, 2.02122, 1e-5);  // the hand computation itself
  EXPECT_NEAR(mt::frechet_distance(a, b), want, 1e-9);
  EXPECT_NEAR(mt::frechet_distance(b, a), want, 1e-9);
  EXPECT_NEAR(mt::frechet_distance(a, a), 0, 1e-9);
  EXPECT_NEAR(mt::frechet_distance(b, b), 0, 1e-9);
}

TEST(Fid, HigherDimensionsMatchEigenvaluesOfTheProduct) {
  auto gen = at::detail::createCPUGenerator(5);
  for (int trial = 0; trial < 5; ++trial) {
    const mt::FeatureGaussian a{torch::randn({6}, gen, kD), random_spd(6, gen)};
    const mt::FeatureGaussian b{torch::randn({6}, gen, kD), random_spd(6, gen)};
    const double want = closed_form(a, b);
    EXPECT_GT(want, 1.0);
    EXPECT_NEAR(mt::frechet_distance(a, b), want, 1e-9 * (1 + want));
    EXPECT_NEAR(mt::frechet_distance(b, a), mt::frechet_distance(a, b), 1e-9 * (1 + want));
    EXPECT_NEAR(mt::frechet_distance(a, a), 0, 1e-9);
  }
  // A singular covariance (rank 2 in 6-D, as with fewer samples than features) against itself.
  const auto f = torch::randn({6, 2}, gen, kD);
  const mt::FeatureGaussian s{torch::zeros({6}, kD), f.mm(f.t())};
  EXPECT_NEAR(mt::frechet_distance(s, s), 0, 1e-9);
  // float32 inputs are taken to float64.
  const mt::FeatureGaussian a32{vec({0, 0}).to(torch::kFloat), mat2(2, 1, 1, 2).to(torch::kFloat)};
  EXPECT_NEAR(mt::frechet_distance(a32, {vec({1, -0.5}), mat2(1, 0, 0, 4)}),
              1.25 + 9 - 2 * std::sqrt(10 + 2 * std::sqrt(12.0)), 1e-9);
}

TEST(Fid, SamplesApproachTheClosedForm) {
  auto gen = at::detail::createCPUGenerator(11);
  const mt::FeatureGaussian a{vec({0, 0}), mat2(2, 1, 1, 2)};
  const mt::FeatureGaussian b{vec({1, -0.5}), mat2(1, 0, 0, 4)};
  const double want = 1.25 + 9 - 2 * std::sqrt(10 + 2 * std::sqrt(12.0));
  const auto xa = sample(a, 200000, gen), xb = sample(b, 200000, gen);
  EXPECT_NEAR(mt::frechet_distance(xa, xb), want, 0.02 * want);
  EXPECT_NEAR(mt::frechet_distance(xa.to(torch::kFloat), xb.to(torch::kFloat)), want, 0.02 * want);
  // Two samples of one distribution: only the estimation error is left.
  EXPECT_LT(mt::frechet_distance(xa, sample(a, 200000, gen)), 2e-3);
}

TEST(Fid, RejectsBadShapes) {
  const auto x = torch::randn({10, 3}, kD);
  EXPECT_THROW(mt::fit_gaussian(torch::randn({10}, kD)), std::invalid_argument);
  EXPECT_THROW(mt::fit_gaussian(torch::randn({1, 3}, kD)), std::invalid_argument);
  EXPECT_THROW(mt::fit_gaussian(torch::Tensor()), std::invalid_argument);
  auto with_nan = x.clone();
  with_nan[3][1] = NAN;
  EXPECT_THROW(mt::fit_gaussian(with_nan), std::invalid_argument);
  EXPECT_THROW(mt::frechet_distance(x, torch::randn({10, 4}, kD)), std::invalid_argument);
  EXPECT_THROW(mt::frechet_distance(x, torch::randn({10, 3, 1}, kD)), std::invalid_argument);
  const mt::FeatureGaussian g3{torch::zeros({3}, kD), torch::eye(3, kD)};
  const mt::FeatureGaussian g2{torch::zeros({2}, kD), torch::eye(2, kD)};
  EXPECT_THROW(mt::frechet_distance(g3, g2), std::invalid_argument);
  EXPECT_THROW(mt::frechet_distance(g3, mt::FeatureGaussian{torch::zeros({3}, kD), torch::eye(2, kD)}),
               std::invalid_argument);
  try {
    mt::frechet_distance(x, torch::randn({10, 4}, kD));
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("3 and 4 columns"), std::string::npos) << e.what();
  }
}

TEST(PrecisionRecall, HalfOfAGridCountedByHand) {
  // Real: the points 0..2999 on a line (in 2-D, rows shuffled); generated: 0..1499. With k = 3 a
  // point's ball has radius 2 (its neighbours at 1, 1, 2), or 3 at the two ends (1, 2, 3).
  auto gen = at::detail::createCPUGenerator(3);
  auto line = [&](int64_t n) {
    auto p = torch::stack({torch::arange(n, kD), torch::zeros({n}, kD)}, 1);
    return p.index_select(0, torch::randperm(n, gen, torch::kLong));
  };
  const auto real = line(3000), half = line(1500);
  // Every generated point is a real point. Real points covered: 0..1498 by their own generated
  // twins, 1499..1502 by the end ball of 1499 (radius 3): 1503 of 3000.
  auto pr = mt::precision_recall(real, half, 3);
  EXPECT_DOUBLE_EQ(pr.precision, 1.0);
  EXPECT_DOUBLE_EQ(pr.recall, 1503.0 / 3000.0);
  // Roles swapped: the full grid as the generated sample.
  pr = mt::precision_recall(half, real, 3);
  EXPECT_DOUBLE_EQ(pr.precision, 1503.0 / 3000.0);
  EXPECT_DOUBLE_EQ(pr.recall, 1.0);
  // k = 1: every radius is 1, so 1499's ball reaches only 1500.
  pr = mt::precision_recall(real, half, 1);
  EXPECT_DOUBLE_EQ(pr.precision, 1.0);
  EXPECT_DOUBLE_EQ(pr.recall, 1501.0 / 3000.0);
}

TEST(PrecisionRecall, FarAwayAndIdenticalSamples) {
  auto gen = at::detail::createCPUGenerator(4);
  const auto real = torch::randn({500, 8}, gen, kD);
  auto pr = mt::precision_recall(real, real + 1e3, 3);
  EXPECT_EQ(pr.precision, 0.0);
  EXPECT_EQ(pr.recall, 0.0);
  pr = mt::precision_recall(real, real.clone(), 3);
  EXPECT_EQ(pr.precision, 1.0);
  EXPECT_EQ(pr.recall, 1.0);
  pr = mt::precision_recall(real.to(torch::kFloat), real.to(torch::kFloat), 5);
  EXPECT_EQ(pr.precision, 1.0);
  EXPECT_EQ(pr.recall, 1.0);
}

TEST(PrecisionRecall, MatchesBruteForceAcrossBlocks) {
  // 2600 x 2600 and 2200 x 2600 distance matrices take two blocks of 2^22 entries each.
  auto gen = at::detail::createCPUGenerator(9);
  const auto real = torch::randn({2600, 3}, gen, kD);
  const auto fake = torch::randn({2200, 3}, gen, kD) * 1.3 + 0.4;
  for (int64_t k : {1, 3}) {
    SCOPED_TRACE(k);
    const auto pr = mt::precision_recall(real, fake, k);
    const auto want = brute_force_pr(real, fake, k);
    EXPECT_DOUBLE_EQ(pr.precision, want.precision);
    EXPECT_DOUBLE_EQ(pr.recall, want.recall);
    // Neither trivial: the wider generated cloud misses some real points, and has points outside.
    EXPECT_GT(pr.precision, 0.3);
    EXPECT_LT(pr.precision, 0.99);
    EXPECT_GT(pr.recall, 0.3);
    EXPECT_LT(pr.recall, 1.0);
  }
}

TEST(PrecisionRecall, RejectsBadShapes) {
  const auto x = torch::randn({10, 3}, kD);
  EXPECT_THROW(mt::precision_recall(x, torch::randn({3, 3}, kD), 3), std::invalid_argument);  // N must be > k
  EXPECT_THROW(mt::precision_recall(torch::randn({3, 3}, kD), x, 3), std::invalid_argument);
  EXPECT_NO_THROW(mt::precision_recall(torch::randn({4, 3}, kD), x, 3));
  EXPECT_THROW(mt::precision_recall(x, x, 0), std::invalid_argument);
  EXPECT_THROW(mt::precision_recall(x, torch::randn({10, 2}, kD), 3), std::invalid_argument);
  EXPECT_THROW(mt::precision_recall(torch::randn({10}, kD), x, 3), std::invalid_argument);
  try {
    mt::precision_recall(x, torch::randn({3, 3}, kD), 3);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("generated has 3 rows"), std::string::npos) << e.what();
  }
}
