// Grid layout and quadrature divergences against closed forms.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "jeffreys/metrics/grid.h"

namespace mt = jeffreys::metrics;

namespace {

const auto kD = torch::TensorOptions().dtype(torch::kDouble);

/// log N(x; mu, cov) for x [N, 2].
torch::Tensor gaussian_log_density(const torch::Tensor& x, const torch::Tensor& mu, const torch::Tensor& cov) {
  auto prec = torch::inverse(cov);
  auto d = x - mu;
  auto quad = (d.matmul(prec) * d).sum(1);
  return -0.5 * quad - std::log(2 * M_PI) - 0.5 * torch::logdet(cov);
}

/// KL(N(mu1, cov1) ‖ N(mu2, cov2)) in closed form.
double gaussian_kl(const torch::Tensor& mu1, const torch::Tensor& cov1, const torch::Tensor& mu2,
                   const torch::Tensor& cov2) {
  auto p2 = torch::inverse(cov2);
  auto dm = mu2 - mu1;
  const double k = static_cast<double>(mu1.size(0));
  return 0.5 * (torch::trace(p2.matmul(cov1)).item<double>() + dm.dot(p2.matmul(dm)).item<double>() - k +
                torch::logdet(cov2).item<double>() - torch::logdet(cov1).item<double>());
}

}  // namespace

TEST(Grid2D, PointsAreCellCentresRowMajorWithYUp) {
  mt::Grid2D g{-1, 3, 0, 2, 4, 2};
  auto p = g.points();
  ASSERT_EQ(p.sizes(), torch::IntArrayRef({8, 2}));
  EXPECT_EQ(p.scalar_type(), torch::kDouble);
  EXPECT_DOUBLE_EQ(g.cell_area(), 1.0);
  // Index iy * nx + ix: x moves fastest, y increases with the row.
  const double expected[8][2] = {{-0.5, 0.5}, {0.5, 0.5}, {1.5, 0.5}, {2.5, 0.5},
                                 {-0.5, 1.5}, {0.5, 1.5}, {1.5, 1.5}, {2.5, 1.5}};
  for (int i = 0; i < 8; ++i) {
    EXPECT_DOUBLE_EQ(p[i][0].item<double>(), expected[i][0]) << i;
    EXPECT_DOUBLE_EQ(p[i][1].item<double>(), expected[i][1]) << i;
  }
  // A [ny, nx] view of per-point values has row 0 at the bottom.
  auto ys = p.select(1, 1).view({2, 4});
  EXPECT_LT(ys[0][0].item<double>(), ys[1][0].item<double>());
  EXPECT_EQ(g.extent(), (std::array<double, 4>{-1, 3, 0, 2}));
}

TEST(Grid2D, CellAreaAndChecks) {
  mt::Grid2D g{-2, 2, -1, 5, 8, 3};
  EXPECT_DOUBLE_EQ(g.cell_area(), 0.5 * 2.0);
  EXPECT_NEAR(g.points().select(1, 0).max().item<double>(), 1.75, 1e-15);
  EXPECT_NEAR(g.points().select(1, 1).min().item<double>(), 0.0, 1e-15);
  EXPECT_THROW((mt::Grid2D{0, 1, 0, 1, 0, 5}.points()), c10::Error);
  EXPECT_THROW((mt::Grid2D{1, 1, 0, 1, 5, 5}.cell_area()), c10::Error);
}

TEST(KlOnGrid, GaussianAgainstItselfIsZero) {
  mt::Grid2D g{-8, 8, -8, 8, 300, 300};
  auto x = g.points();
  auto mu = torch::tensor({0.3, -0.2}, kD);
  auto cov = torch::tensor({{1.0, 0.4}, {0.4, 0.8}}, kD);
  auto l = gaussian_log_density(x, mu, cov);
  auto d = mt::divergence_on_grid(l, l, g.cell_area());
  EXPECT_NEAR(d.forward_kl, 0.0, 1e-9);
  EXPECT_NEAR(d.reverse_kl, 0.0, 1e-9);
  EXPECT_NEAR(d.jeffreys, 0.0, 1e-9);
  EXPECT_NEAR(d.mass_reference, 1.0, 1e-6);
  EXPECT_NEAR(d.mass_model, 1.0, 1e-6);
}

TEST(KlOnGrid, ShiftedScaledGaussianMatchesClosedFormBothWays) {
  mt::Grid2D g{-10, 10, -10, 10, 400, 400};
  auto x = g.points();
  auto mu1 = torch::tensor({0.0, 0.5}, kD), mu2 = torch::tensor({1.0, -0.5}, kD);
  auto cov1 = torch::tensor({{1.0, 0.5}, {0.5, 1.2}}, kD), cov2 = torch::tensor({{2.0, -0.3}, {-0.3, 0.7}}, kD);
  auto lr = gaussian_log_density(x, mu1, cov1), lm = gaussian_log_density(x, mu2, cov2);
  auto d = mt::divergence_on_grid(lr, lm, g.cell_area());
  const double fwd = gaussian_kl(mu1, cov1, mu2, cov2), rev = gaussian_kl(mu2, cov2, mu1, cov1);
  ASSERT_GT(std::abs(fwd - rev), 0.1);  // the check sees which way round each one is
  EXPECT_NEAR(d.forward_kl, fwd, 1e-3);
  EXPECT_NEAR(d.reverse_kl, rev, 1e-3);
  EXPECT_NEAR(d.jeffreys, fwd + rev, 2e-3);
  // Renormalisation: unnormalised inputs give the same divergences and report their masses.
  auto d2 = mt::divergence_on_grid(lr + 3.0, lm - 2.0, g.cell_area());
  EXPECT_NEAR(d2.forward_kl, d.forward_kl, 1e-9);
  EXPECT_NEAR(d2.reverse_kl, d.reverse_kl, 1e-9);
  EXPECT_NEAR(d2.mass_reference, std::exp(3.0), 1e-5);
  EXPECT_NEAR(d2.mass_model, std::exp(-2.0), 1e-6);
  // float32 and [ny, nx] shaped inputs are accepted.
  auto d3 = mt::divergence_on_grid(lr.to(torch::kFloat).view({400, 400}), lm.to(torch::kFloat), g.cell_area());
  EXPECT_NEAR(d3.forward_kl, fwd, 1e-3);
}

TEST(KlOnGrid, ZeroReferenceDensityGivesInfiniteReverseKl) {
  // π is the standard normal restricted to x > 0 (twice its density there), p the standard normal.
  // The grid is symmetric with a cell edge at x = 0, so KL(π‖p) = log 2 exactly on the grid.
  mt::Grid2D g{-6, 6, -6, 6, 240, 240};
  auto x = g.points();
  auto lp = -0.5 * x.square().sum(1) - std::log(2 * M_PI);
  const double inf = std::numeric_limits<double>::infinity();
  auto lr = torch::where(x.select(1, 0) > 0, lp + std::log(2.0), torch::full_like(lp, -inf));
  auto d = mt::divergence_on_grid(lr, lp, g.cell_area());
  EXPECT_NEAR(d.forward_kl, std::log(2.0), 1e-9);
  EXPECT_TRUE(std::isinf(d.reverse_kl) && d.reverse_kl > 0) << d.reverse_kl;
  EXPECT_TRUE(std::isinf(d.jeffreys) && d.jeffreys > 0) << d.jeffreys;
  EXPECT_NEAR(d.mass_reference, 1.0, 1e-6);
  // The other way round: the model has no mass where π has some.
  auto swapped = mt::divergence_on_grid(lp, lr, g.cell_area());
  EXPECT_TRUE(std::isinf(swapped.forward_kl) && swapped.forward_kl > 0);
  EXPECT_NEAR(swapped.reverse_kl, std::log(2.0), 1e-9);
  // Both zero on the same cells: those cells contribute nothing, no NaN.
  auto same = mt::divergence_on_grid(lr, lr, g.cell_area());
  EXPECT_NEAR(same.forward_kl, 0.0, 1e-12);
  EXPECT_NEAR(same.reverse_kl, 0.0, 1e-12);
}

TEST(KlOnGrid, RejectsMismatchedInputs) {
  auto a = torch::zeros({10}, kD);
  EXPECT_THROW(mt::divergence_on_grid(a, torch::zeros({11}, kD), 1.0), c10::Error);
  EXPECT_THROW(mt::divergence_on_grid(a, a, 0.0), c10::Error);
  auto nan = a.clone();
  nan[3] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(std::isnan(mt::divergence_on_grid(nan, a, 1.0).forward_kl));
}
