// The 2D toy data sets: samples follow the stated density (chi-square on a grid), the density
// integrates to 1 and matches brute-force quadrature written independently here, sampling is
// deterministic per seed, and the registry reports unknown names.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <iomanip>
#include <iostream>
#include <limits>

#include "jeffreys/data/toy2d.h"

namespace dt = jeffreys::data;

namespace {

std::string param_name(const ::testing::TestParamInfo<std::string>& info) {
  auto s = info.param;
  for (auto& c : s)
    if (c == '-') c = '_';
  return s;
}

at::Generator gen(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

struct ChiSquare {
  double statistic = 0, threshold = 0;
  int64_t dof = 0;
  double outside_observed = 0, outside_expected = 0;
};

// Bins `samples` on a cells × cells grid over the extent and compares the counts with the cell
// probabilities `cell_p` [cells, cells] (x index first). Cells expecting fewer than 5 points are
// left out; the test is then of the counts in the kept cells given their total (dof = kept - 1),
// and the number of points outside the kept cells is checked separately against its expectation.
ChiSquare chi_square(const torch::Tensor& samples, const torch::Tensor& cell_p, std::array<double, 4> e,
                     int64_t cells) {
  const auto n = static_cast<double>(samples.size(0));
  auto s = samples.to(torch::kDouble);
  auto ix = ((s.select(1, 0) - e[0]) / ((e[1] - e[0]) / cells)).floor().to(torch::kLong);
  auto iy = ((s.select(1, 1) - e[2]) / ((e[3] - e[2]) / cells)).floor().to(torch::kLong);
  auto inside = (ix >= 0).logical_and(ix < cells).logical_and(iy >= 0).logical_and(iy < cells);
  auto counts = torch::bincount(ix.masked_select(inside) * cells + iy.masked_select(inside), {}, cells * cells)
                    .to(torch::kDouble);
  auto p = cell_p.reshape({-1});
  auto keep = p * n >= 5;
  auto observed = counts.masked_select(keep);
  auto p_keep = p.masked_select(keep);
  auto expected = observed.sum() * p_keep / p_keep.sum();
  ChiSquare r;
  r.statistic = ((observed - expected).square() / expected).sum().item<double>();
  r.dof = keep.sum().item<int64_t>() - 1;
  r.threshold = static_cast<double>(r.dof) + 5 * std::sqrt(2.0 * static_cast<double>(r.dof));
  r.outside_observed = n - observed.sum().item<double>();
  r.outside_expected = n * std::max(0.0, 1 - p_keep.sum().item<double>());
  return r;
}

constexpr int64_t kCells = 12, kSub = 20, kSamples = 20000;

class Toy2DDensity : public ::testing::TestWithParam<std::string> {};

TEST_P(Toy2DDensity, IntegratesToOneAndSamplesFollowIt) {
  auto d = dt::make_toy2d(GetParam());
  ASSERT_TRUE(d->has_log_prob());
  const auto e = d->extent();
  // Midpoints of a (cells · sub)² grid over the extent; each coarse cell holds sub × sub of them.
  const int64_t m = kCells * kSub;
  const double hx = (e[1] - e[0]) / m, hy = (e[3] - e[2]) / m;
  auto cx = torch::arange(m, torch::kDouble) * hx + (e[0] + hx / 2);
  auto cy = torch::arange(m, torch::kDouble) * hy + (e[2] + hy / 2);
  auto grid = torch::stack(torch::meshgrid({cx, cy}, "ij"), -1).reshape({-1, 2});
  const auto t0 = std::chrono::steady_clock::now();
  auto log_p = d->log_prob(grid);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(log_p.scalar_type(), torch::kDouble);
  ASSERT_EQ(log_p.sizes(), (std::vector<int64_t>{m * m}));
  ASSERT_FALSE(log_p.isnan().any().item<bool>());
  ASSERT_FALSE((log_p == std::numeric_limits<double>::infinity()).any().item<bool>());

  auto p = log_p.exp().reshape({m, m}) * (hx * hy);
  const double mass = p.sum().item<double>();
  if (GetParam() == "checkerboard") {
    EXPECT_NEAR(mass, 1.0, 1e-12);  // the grid lines up with the squares: exact
  } else {
    EXPECT_NEAR(mass, 1.0, 2e-2);
  }

  auto cell_p = p.reshape({kCells, kSub, kCells, kSub}).sum({1, 3});
  auto samples = d->sample(kSamples, gen(2024));
  auto r = chi_square(samples, cell_p, e, kCells);
  EXPECT_LT(r.statistic, r.threshold) << "samples do not follow the density (dof " << r.dof << ")";
  EXPECT_NEAR(r.outside_observed, r.outside_expected, 5 * std::sqrt(r.outside_expected) + 5);
  std::cout << "[ chi2     ] " << GetParam() << ": chi2 " << r.statistic << " dof " << r.dof << " threshold "
            << r.threshold << ", outside kept cells " << r.outside_observed << " (expected " << r.outside_expected
            << "), grid mass " << std::setprecision(8) << mass << std::setprecision(6) << ", log_prob of " << m * m << " points " << ms << " ms\n";
}

INSTANTIATE_TEST_SUITE_P(DataSets, Toy2DDensity, ::testing::ValuesIn(dt::toy2d_names()), param_name);

// The chi-square check has power: the same samples shifted by a quarter of the noise fail it.
TEST(Toy2DDensityCheck, RejectsShiftedSamples) {
  auto d = dt::make_toy2d("two-moons");
  const auto e = d->extent();
  const int64_t m = kCells * kSub;
  const double hx = (e[1] - e[0]) / m, hy = (e[3] - e[2]) / m;
  auto cx = torch::arange(m, torch::kDouble) * hx + (e[0] + hx / 2);
  auto cy = torch::arange(m, torch::kDouble) * hy + (e[2] + hy / 2);
  auto grid = torch::stack(torch::meshgrid({cx, cy}, "ij"), -1).reshape({-1, 2});
  auto cell_p = (d->log_prob(grid).exp().reshape({m, m}) * (hx * hy)).reshape({kCells, kSub, kCells, kSub}).sum({1, 3});
  auto samples = d->sample(kSamples, gen(2024)) + torch::tensor({0.025f, 0.0f});
  auto r = chi_square(samples, cell_p, e, kCells);
  EXPECT_GT(r.statistic, r.threshold);
}

// Brute-force references: the mixture integrals by a plain midpoint rule with many nodes, in scalar
// code that shares nothing with the library.
double log_sum(const std::function<double(double)>& integrand, double a, double b, int n) {
  const double h = (b - a) / n;
  double total = 0;
  for (int i = 0; i < n; ++i) total += integrand(a + (i + 0.5) * h);
  return std::log(total * h);
}

double normal2(double dx, double dy, double s) { return std::exp(-(dx * dx + dy * dy) / (2 * s * s)) / (2 * M_PI * s * s); }
double cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

double reference_log_prob(const std::string& name, double x, double y) {
  if (name == "two-moons") {
    return log_sum([&](double t) {
      return (normal2(x - std::cos(t), y - std::sin(t), 0.1) + normal2(x - 1 + std::cos(t), y - 0.5 + std::sin(t), 0.1)) /
             (2 * M_PI);
    }, 0, M_PI, 40000);
  }
  if (name == "8-gaussians") {
    double total = 0;
    for (int k = 0; k < 8; ++k) total += normal2(x - 2 * std::cos(M_PI * k / 4), y - 2 * std::sin(M_PI * k / 4), 0.2) / 8;
    return std::log(total);
  }
  if (name == "rings" || name == "circles") {
    const std::vector<double> radii = name == "rings" ? std::vector<double>{0.5, 1, 1.5, 2} : std::vector<double>{1, 0.5};
    const double s = name == "rings" ? 0.08 : 0.05;
    return log_sum([&](double t) {
      double total = 0;
      for (double r : radii) total += normal2(x - r * std::cos(t), y - r * std::sin(t), s);
      return total / static_cast<double>(radii.size()) / (2 * M_PI);
    }, 0, 2 * M_PI, 20000);
  }
  if (name == "swiss-roll") {
    return log_sum([&](double t) { return normal2(x - t * std::cos(t) / 5, y - t * std::sin(t) / 5, 0.2) / (3 * M_PI); },
                   1.5 * M_PI, 4.5 * M_PI, 40000);
  }
  if (name == "2-spirals") {
    const double a = 0.5 / 3, s = 0.1, c = 3 * M_PI;
    // Box [lo, lo + a] convolved with N(0, s²), per coordinate.
    auto box = [&](double z, double lo) { return (cdf((z - lo) / s) - cdf((z - lo - a) / s)) / a; };
    return log_sum([&](double n) {
      const double gx = -n * std::cos(n) / 3, gy = n * std::sin(n) / 3, q = 2 * n / (c * c);
      return 0.5 * q * (box(x, gx) * box(y, gy) + box(x, -gx - a) * box(y, -gy - a));
    }, 0, c, 60000);
  }
  if (name == "pinwheel") {
    // Every preimage by a fine scan of f0 over [-ρ, ρ] and bisection, per arm (see the header's formula).
    const double rho = std::hypot(x, y) / 2, phi = std::atan2(y, x);
    double total = 0;
    for (int c = 0; c < 5; ++c) {
      auto h = [&](double f0) { return f0 - rho * std::cos(phi + 2 * M_PI * c / 5 + 0.25 * std::exp(f0)); };
      const int cells = 20000;
      for (int i = 0; i < cells; ++i) {
        double lo = -rho + 2 * rho * i / cells, hi = -rho + 2 * rho * (i + 1) / cells;
        if ((h(lo) > 0) == (h(hi) > 0)) continue;
        const bool rising = h(hi) > 0;
        for (int it = 0; it < 80; ++it) {
          const double mid = (lo + hi) / 2;
          ((h(mid) > 0) == rising ? hi : lo) = mid;
        }
        const double f0 = (lo + hi) / 2, a = 2 * M_PI * c / 5 + 0.25 * std::exp(f0);
        const double f1 = rho * std::sin(phi + a);
        const double jac = 4 * std::abs(1 + 0.25 * std::exp(f0) * f1);
        total += std::exp(-0.5 * std::pow((f0 - 1) / 0.3, 2) - 0.5 * std::pow(f1 / 0.1, 2)) /
                 (2 * M_PI * 0.3 * 0.1) / 5 / jac;
      }
    }
    return std::log(total);
  }
  throw std::logic_error("no reference for " + name);
}

TEST(Toy2DQuadrature, MatchesBruteForceReference) {
  for (const std::string name : {"two-moons", "8-gaussians", "rings", "circles", "swiss-roll", "2-spirals", "pinwheel"}) {
    auto d = dt::make_toy2d(name);
    // Points where the density matters (samples, a little further out than typical) and a few fixed ones.
    auto x = torch::cat({d->sample(12, gen(7)).to(torch::kDouble) * 1.05,
                         torch::tensor({{0.0, 0.0}, {0.3, -0.2}, {1.0, 0.5}}, torch::kDouble)});
    auto got = d->log_prob(x);
    double worst = 0;
    for (int64_t i = 0; i < x.size(0); ++i) {
      const double px = x[i][0].item<double>(), py = x[i][1].item<double>();
      const double want = reference_log_prob(name, px, py);
      if (want < -30) continue;  // negligible density: the scalar reference underflows there
      EXPECT_NEAR(got[i].item<double>(), want, 1e-5) << name << " at (" << px << ", " << py << ")";
      worst = std::max(worst, std::abs(got[i].item<double>() - want));
    }
    std::cout << "[ log_prob ] " << name << ": largest difference from the brute-force reference " << worst << "\n";
  }
}

TEST(Toy2DQuadrature, FarPointsGetFiniteLogDensity) {
  auto far = torch::tensor({{6.0, -6.0}, {0.0, 9.0}, {-12.0, 3.0}}, torch::kDouble);
  for (const auto& name : dt::toy2d_names()) {
    if (name == "checkerboard") continue;
    auto d = dt::make_toy2d(name);
    auto lp = d->log_prob(far);
    EXPECT_TRUE(lp.isfinite().all().item<bool>()) << name << ": " << lp;
    auto near = d->log_prob(d->sample(50, gen(3)));
    EXPECT_LT(lp.max().item<double>(), near.min().item<double>()) << name;
  }
}

TEST(Toy2DCheckerboard, DensityIsEighthOnBlackSquaresAndMinusInfElsewhere) {
  auto d = dt::make_toy2d("checkerboard");
  auto lp = d->log_prob(torch::tensor({{-1.5f, -1.5f}, {-0.5f, -1.5f}, {0.5f, 0.5f}, {1.5f, 0.5f}, {2.5f, 0.0f}}));
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_DOUBLE_EQ(lp[0].item<double>(), -std::log(8.0));
  EXPECT_EQ(lp[1].item<double>(), -inf);
  EXPECT_DOUBLE_EQ(lp[2].item<double>(), -std::log(8.0));
  EXPECT_EQ(lp[3].item<double>(), -inf);
  EXPECT_EQ(lp[4].item<double>(), -inf);
  // Every sample lies on a black square.
  EXPECT_TRUE(d->log_prob(d->sample(5000, gen(1))).isfinite().all().item<bool>());
}

class Toy2DSampling : public ::testing::TestWithParam<std::string> {};

TEST_P(Toy2DSampling, ShapeDeterminismAndExtent) {
  auto d = dt::make_toy2d(GetParam());
  EXPECT_EQ(d->name(), GetParam());
  auto a = d->sample(4000, gen(11));
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{4000, 2}));
  EXPECT_EQ(a.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(a, d->sample(4000, gen(11))));
  EXPECT_FALSE(torch::equal(a, d->sample(4000, gen(12))));
  const auto e = d->extent();
  auto in = (a.select(1, 0) >= e[0]).logical_and(a.select(1, 0) <= e[1])
                .logical_and(a.select(1, 1) >= e[2]).logical_and(a.select(1, 1) <= e[3]);
  EXPECT_GE(in.to(torch::kDouble).mean().item<double>(), 0.999);
  EXPECT_EQ(d->sample(0, gen(1)).sizes(), (std::vector<int64_t>{0, 2}));
  // log_prob takes any float dtype and an empty batch.
  auto lp32 = d->log_prob(a.narrow(0, 0, 5));
  auto lp64 = d->log_prob(a.narrow(0, 0, 5).to(torch::kDouble));
  EXPECT_TRUE(torch::equal(lp32, lp64));
  EXPECT_EQ(d->log_prob(torch::zeros({0, 2})).sizes(), (std::vector<int64_t>{0}));
  EXPECT_THROW(d->log_prob(torch::zeros({3, 3})), std::exception);
}

INSTANTIATE_TEST_SUITE_P(DataSets, Toy2DSampling, ::testing::ValuesIn(dt::toy2d_names()), param_name);

TEST(Toy2DRegistry, UnknownNameListsKnownOnes) {
  EXPECT_EQ(dt::toy2d_names().size(), 9u);
  try {
    dt::make_toy2d("three-moons");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& err) {
    const std::string what = err.what();
    EXPECT_NE(what.find("three-moons"), std::string::npos) << what;
    for (const auto& n : dt::toy2d_names()) EXPECT_NE(what.find(n), std::string::npos) << what;
  }
}

TEST(Toy2DRegistry, LogProbWithoutDensityThrowsLogicError) {
  struct NoDensity : dt::Toy2D {
    std::string name() const override { return "no-density"; }
    torch::Tensor sample(int64_t n, at::Generator) const override { return torch::zeros({n, 2}); }
    bool has_log_prob() const override { return false; }
    std::array<double, 4> extent() const override { return {-1, 1, -1, 1}; }
  };
  NoDensity d;
  EXPECT_THROW(d.log_prob(torch::zeros({1, 2})), std::logic_error);
}

TEST(Toy2DFixedTrainingSet, DeterministicPerSeedAndDifferentAcrossSeeds) {
  for (const auto& name : dt::toy2d_names()) {
    auto d = dt::make_toy2d(name);
    auto a = dt::fixed_training_set(*d, 200, 1);
    EXPECT_EQ(a.sizes(), (std::vector<int64_t>{200, 2}));
    EXPECT_EQ(a.scalar_type(), torch::kFloat);
    EXPECT_TRUE(torch::equal(a, dt::fixed_training_set(*dt::make_toy2d(name), 200, 1))) << name;
    EXPECT_FALSE(torch::equal(a, dt::fixed_training_set(*d, 200, 2))) << name;
  }
}

}  // namespace
