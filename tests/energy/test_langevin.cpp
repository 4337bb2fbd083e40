// Langevin dynamics on an energy with a known density: started far away, the points must end up
// distributed as exp(-E)/Z, here N(mu, diag(s²)).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "jeffreys/energy/langevin.h"
#include "support/gaussian_energy.h"

TEST(Langevin, ReachesTheEnergysGaussian) {
  torch::manual_seed(0);
  auto mu = torch::tensor({1.0, -2.0}, torch::kDouble);
  auto s = torch::tensor({0.5, 2.0}, torch::kDouble);
  jtest::GaussianEnergyImpl e(mu, torch::log(s));
  auto start = torch::full({20000, 2}, 6.0, torch::kDouble);
  auto gen = at::detail::createCPUGenerator(3);
  // ε = 0.01 against the narrow axis (s² = 0.25): the discretisation biases the variance by
  // about ε/(2 s²) relative, 2%, and 3000 steps forget the start on the wide axis (s² = 4).
  auto x = jeffreys::energy::langevin(e, start, 3000, 0.01, gen);
  auto m = x.mean(0), v = x.var(0);
  EXPECT_NEAR(m[0].item<double>(), 1.0, 0.02);
  EXPECT_NEAR(m[1].item<double>(), -2.0, 0.08);
  EXPECT_NEAR(v[0].item<double>(), 0.25, 0.25 * 0.05);
  EXPECT_NEAR(v[1].item<double>(), 4.0, 4.0 * 0.05);
  EXPECT_FALSE(x.requires_grad());
}

TEST(Langevin, ZeroStepsReturnsTheStartAndBadInputThrows) {
  auto mu = torch::zeros({2}, torch::kDouble);
  jtest::GaussianEnergyImpl e(mu, torch::zeros({2}, torch::kDouble));
  auto start = torch::randn({5, 2}, torch::kDouble);
  auto gen = at::detail::createCPUGenerator(0);
  EXPECT_TRUE(torch::equal(jeffreys::energy::langevin(e, start, 0, 0.1, gen), start));
  EXPECT_THROW(jeffreys::energy::langevin(e, start, 3, 0.0, gen), std::invalid_argument);
  EXPECT_THROW(jeffreys::energy::langevin(e, start, -1, 0.1, gen), std::invalid_argument);
  // A step far beyond stability (ε ≫ s²) overflows; the error says so instead of returning inf.
  try {
    jeffreys::energy::langevin(e, start * 1e3, 2000, 1e3, gen);
    FAIL() << "expected a non-finite error";
  } catch (const std::runtime_error& err) {
    EXPECT_NE(std::string(err.what()).find("no longer finite"), std::string::npos) << err.what();
  }
}

// MALA: the Metropolis correction makes π invariant whatever ε. At ε = 0.1 on the narrow axis
// (s² = 0.25) unadjusted Langevin's stationary variance is s² / (1 − ε / (2 s²)) = 0.3125, 25% too
// wide; started from exact draws, MALA must keep the variance at 0.25 (2% sampling error at N = 20000).
TEST(Mala, KeepsTheTargetExactWhereUnadjustedLangevinIsBiased) {
  torch::manual_seed(1);
  auto mu = torch::tensor({1.0, -2.0}, torch::kDouble);
  auto s = torch::tensor({0.5, 2.0}, torch::kDouble);
  jtest::GaussianEnergyImpl e(mu, torch::log(s));
  const int64_t n = 20000;
  auto start = mu + s * torch::randn({n, 2}, torch::kDouble);
  auto gen = at::detail::createCPUGenerator(5);
  auto log_density = [&](const torch::Tensor& x) { return -e.energy(x); };
  auto r = jeffreys::energy::mala(log_density, start, jeffreys::energy::MalaOptions().steps(200).step_size(0.1).adapt_steps(0), gen);
  auto v = r.x.var(0);
  EXPECT_NEAR(v[0].item<double>(), 0.25, 0.25 * 0.05);
  EXPECT_NEAR(v[1].item<double>(), 4.0, 4.0 * 0.06);
  EXPECT_NEAR(r.x.mean(0)[0].item<double>(), 1.0, 0.02);
  EXPECT_DOUBLE_EQ(r.step_size, 0.1);
  EXPECT_GT(r.acceptance, 0.5);
  EXPECT_LT(r.acceptance, 1.0);
  EXPECT_FALSE(r.x.requires_grad());
  // The same ε without the correction: the bias the test above rules out is really there.
  auto ula = jeffreys::energy::langevin(e, start, 200, 0.1, gen);
  EXPECT_GT(ula.var(0)[0].item<double>(), 0.25 * 1.15);
}

// Adapted from a far too small ε, started far away: ε grows until about 57% of proposals pass, and the
// chains reach N(mu, s²) once it is fixed.
TEST(Mala, AdaptsTheStepToTheTargetAcceptance) {
  auto mu = torch::tensor({1.0, -2.0}, torch::kDouble);
  auto s = torch::tensor({0.5, 2.0}, torch::kDouble);
  jtest::GaussianEnergyImpl e(mu, torch::log(s));
  auto start = torch::full({4000, 2}, 3.0, torch::kDouble);
  auto gen = at::detail::createCPUGenerator(11);
  auto r = jeffreys::energy::mala([&](const torch::Tensor& x) { return -e.energy(x); }, start,
                                  jeffreys::energy::MalaOptions().steps(1500).step_size(1e-5).adapt_steps(300), gen);
  EXPECT_NEAR(r.acceptance, 0.574, 0.1);
  EXPECT_GT(r.step_size, 1e-2);
  auto m = r.x.mean(0), v = r.x.var(0);
  EXPECT_NEAR(m[0].item<double>(), 1.0, 0.05);
  EXPECT_NEAR(m[1].item<double>(), -2.0, 0.25);
  EXPECT_NEAR(v[0].item<double>(), 0.25, 0.25 * 0.12);
  EXPECT_NEAR(v[1].item<double>(), 4.0, 4.0 * 0.15);
}

// A density of bounded support (a standard normal restricted to x > 0): no chain ever leaves it, and
// the chains' mean is the half-normal's, √(2/π). A start outside the support is refused.
TEST(Mala, StaysInsideASupportAndRefusesAStartOutsideIt) {
  auto gen = at::detail::createCPUGenerator(2);
  auto log_density = [](const torch::Tensor& x) {
    auto lp = -0.5 * x.square().sum(1);
    return torch::where(x.select(1, 0) > 0, lp, torch::full_like(lp, -std::numeric_limits<double>::infinity()));
  };
  auto start = torch::full({20000, 1}, 0.5, torch::kDouble);
  auto r = jeffreys::energy::mala(log_density, start, jeffreys::energy::MalaOptions().steps(400).step_size(0.5), gen);
  EXPECT_TRUE((r.x > 0).all().item<bool>());
  EXPECT_NEAR(r.x.mean().item<double>(), std::sqrt(2.0 / M_PI), 0.03);
  EXPECT_THROW(jeffreys::energy::mala(log_density, -start, jeffreys::energy::MalaOptions(), gen), std::invalid_argument);
  EXPECT_THROW(jeffreys::energy::mala(log_density, start, jeffreys::energy::MalaOptions().step_size(0), gen),
               std::invalid_argument);
  auto none = jeffreys::energy::mala(log_density, start, jeffreys::energy::MalaOptions().steps(0), gen);
  EXPECT_TRUE(torch::equal(none.x, start));
  EXPECT_TRUE(std::isnan(none.acceptance));
}
