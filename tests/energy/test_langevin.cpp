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
