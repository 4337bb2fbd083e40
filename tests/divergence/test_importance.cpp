// Importance-sampling estimate of log Z and its effective sample size.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "jeffreys/divergence/importance.h"
#include "jeffreys/energy/energy.h"
#include "jeffreys/flows/presets.h"
#include "support/expect_bijection.h"
#include "support/gaussian_energy.h"

namespace dv = jeffreys::divergence;
namespace fl = jeffreys::flows;
using jtest::max_abs_diff;

namespace {
const auto kD = torch::TensorOptions().dtype(torch::kDouble);
}

TEST(LogZFromLogWeights, EqualWeightsGiveFullESS) {
  for (int64_t K : {1, 7, 100, 4096}) {
    auto lw = torch::full({K}, 0.7, kD);
    auto r = dv::log_z_from_log_weights(lw);
    EXPECT_NEAR(r.log_z.item<double>(), 0.7, 1e-12);
    EXPECT_NEAR(r.ess.item<double>(), static_cast<double>(K), 1e-9 * K) << "K = " << K;
  }
}

TEST(LogZFromLogWeights, OneDominantWeightGivesESSOne) {
  auto lw = torch::zeros({50}, kD);
  lw[17] = 40.0;
  auto r = dv::log_z_from_log_weights(lw);
  EXPECT_NEAR(r.ess.item<double>(), 1.0, 1e-12);
  EXPECT_NEAR(r.log_z.item<double>(), 40.0 - std::log(50.0), 1e-12);
  // Huge log-weights do not overflow.
  auto big = torch::tensor({1000.0, 1000.0, 990.0}, kD);
  auto rb = dv::log_z_from_log_weights(big);
  EXPECT_TRUE(std::isfinite(rb.log_z.item<double>()));
  const double w3 = std::exp(-10.0);
  EXPECT_NEAR(rb.ess.item<double>(), std::pow(2 + w3, 2) / (2 + w3 * w3), 1e-9);
  EXPECT_NEAR(rb.log_z.item<double>(), 1000.0 + std::log((2 + w3) / 3), 1e-9);
}

TEST(LogZFromLogWeights, MatchesDirectFormulaAndGradientIsSelfNormalisedWeights) {
  torch::manual_seed(61);
  auto lw = (torch::randn({30}, kD) * 2).requires_grad_(true);
  auto r = dv::log_z_from_log_weights(lw);
  auto w = lw.detach().exp();
  EXPECT_NEAR(r.log_z.item<double>(), std::log(w.mean().item<double>()), 1e-12);
  EXPECT_NEAR(r.ess.item<double>(), (w.sum().square() / w.square().sum()).item<double>(), 1e-9);
  EXPECT_FALSE(r.ess.requires_grad());
  auto g = torch::autograd::grad({r.log_z}, {lw})[0];
  EXPECT_LT(max_abs_diff(g, torch::softmax(lw.detach(), 0)), 1e-12);
}

TEST(LogZFromLogWeights, ColumnsAreIndependentEstimates) {
  torch::manual_seed(62);
  auto lw = torch::randn({40, 5}, kD) * 3;
  auto r = dv::log_z_from_log_weights(lw);
  ASSERT_EQ(r.log_z.sizes(), torch::IntArrayRef({5}));
  ASSERT_EQ(r.ess.sizes(), torch::IntArrayRef({5}));
  for (int64_t c = 0; c < 5; ++c) {
    auto rc = dv::log_z_from_log_weights(lw.select(1, c).contiguous());
    EXPECT_NEAR(r.log_z[c].item<double>(), rc.log_z.item<double>(), 1e-12);
    EXPECT_NEAR(r.ess[c].item<double>(), rc.ess.item<double>(), 1e-9);
  }
  EXPECT_THROW(dv::log_z_from_log_weights(torch::zeros({2, 2, 2}, kD)), c10::Error);
}

TEST(EstimateLogZ, ExactWhenProposalIsTheNormalisedEnergy) {
  auto mu = torch::tensor({0.5, -1.0, 2.0}, kD);
  auto s = torch::tensor({1.0, 0.5, 2.0}, kD);
  jtest::GaussianEnergyImpl energy(mu, torch::log(s));
  auto flow = jtest::gaussian_flow(mu, s);
  auto e = dv::estimate_log_z(*flow, energy, 5000, {}, 2048, at::detail::createCPUGenerator(1));
  // Every weight equals Z: the estimate is exact and its error bar is zero.
  EXPECT_NEAR(e.log_z, energy.true_log_z(), 1e-10);
  EXPECT_LT(e.std_error, 1e-10);
  EXPECT_NEAR(e.ess, 5000.0, 1e-6);
  EXPECT_EQ(e.samples, 5000);
}

TEST(EstimateLogZ, GaussianEnergyWithMismatchedFlowProposal) {
  // Proposal N(mu + shift, (1.3 s)²) against the energy of N(mu, s²).
  auto mu = torch::tensor({0.5, -1.0, 2.0}, kD);
  auto s = torch::tensor({1.0, 0.5, 2.0}, kD);
  jtest::GaussianEnergyImpl energy(mu, torch::log(s));
  auto flow = jtest::gaussian_flow(mu + torch::tensor({0.3, -0.2, 0.4}, kD), s * 1.3);
  const int64_t n = 20000;
  auto e = dv::estimate_log_z(*flow, energy, n, {}, 8192, at::detail::createCPUGenerator(2024));
  EXPECT_EQ(e.samples, n);
  EXPECT_GT(e.ess, 0.0);
  EXPECT_LT(e.ess, static_cast<double>(n));  // the proposal differs, so some weight is wasted
  ASSERT_GT(e.std_error, 0.0);
  ASSERT_LT(e.std_error, 0.05);
  // Tolerance from the sample size: 5 standard errors of the delta-method estimate.
  const double tol = 5 * e.std_error;
  EXPECT_NEAR(e.log_z, energy.true_log_z(), tol) << "std_error " << e.std_error;
  // The same generator seed reproduces the estimate exactly.
  auto e2 = dv::estimate_log_z(*flow, energy, n, {}, 8192, at::detail::createCPUGenerator(2024));
  EXPECT_EQ(e.log_z, e2.log_z);
}

TEST(EstimateLogZ, GaussianEnergyWithUntrainedFlowProposal) {
  torch::manual_seed(63);
  auto flow = fl::make_flow(fl::FlowOptions(3).family(fl::FlowFamily::realnvp).layers(2).hidden(16));
  flow->to(torch::kDouble);
  // Narrower than the roughly standard-normal proposal, so the weights are bounded.
  auto mu = torch::tensor({0.3, -0.2, 0.1}, kD);
  auto s = torch::tensor({0.8, 0.6, 0.9}, kD);
  jtest::GaussianEnergyImpl energy(mu, torch::log(s));
  auto e = dv::estimate_log_z(*flow, energy, 20000, {}, 8192, at::detail::createCPUGenerator(7));
  ASSERT_GT(e.std_error, 0.0);
  ASSERT_LT(e.std_error, 0.05);
  EXPECT_NEAR(e.log_z, energy.true_log_z(), 5 * e.std_error) << "std_error " << e.std_error;
}

TEST(EstimateLogZ, ConditionalUsesTheGivenContextRow) {
  torch::manual_seed(64);
  auto flow = fl::make_flow(fl::FlowOptions(2).layers(2).hidden(8).context_features(2));
  flow->to(torch::kDouble);
  jeffreys::energy::MLPEnergy energy(jeffreys::energy::MLPEnergyOptions(2).hidden(8).context_features(2));
  energy->to(torch::kDouble);
  auto c = torch::tensor({{0.5, -1.0}}, kD);
  const int64_t n = 300;
  auto e = dv::estimate_log_z(*flow, *energy, n, c, 1024, at::detail::createCPUGenerator(8));
  // Recompute by hand from the same draws.
  torch::NoGradGuard g;
  auto z = torch::randn({n, 2}, at::detail::createCPUGenerator(8), kD);
  auto ctx = c.expand({n, 2});
  auto [y, ld] = flow->inverse(z, ctx);
  auto log_w = -energy->energy(y, ctx) - (fl::standard_normal_log_prob(z) - ld);
  auto r = dv::log_z_from_log_weights(log_w);
  EXPECT_NEAR(e.log_z, r.log_z.item<double>(), 1e-10);
  EXPECT_NEAR(e.ess, r.ess.item<double>(), 1e-8);
  EXPECT_THROW(dv::estimate_log_z(*flow, *energy, n, torch::zeros({2, 2}, kD)), c10::Error);
}

TEST(Energy, LogProbAndMLPEnergyChecks) {
  torch::manual_seed(65);
  jeffreys::energy::MLPEnergy energy(jeffreys::energy::MLPEnergyOptions(3).hidden(8));
  auto x = torch::randn({4, 3});
  auto e = energy->energy(x);
  EXPECT_EQ(e.sizes(), torch::IntArrayRef({4}));
  EXPECT_TRUE(torch::allclose(energy->log_prob(x, torch::tensor(1.5)), -e - 1.5));
  EXPECT_THROW(energy->energy(x, torch::randn({4, 2})), c10::Error);
  EXPECT_THROW(energy->energy(torch::randn({4, 2})), c10::Error);
  jeffreys::energy::MLPEnergy cond(jeffreys::energy::MLPEnergyOptions(3).hidden(8).context_features(2));
  EXPECT_THROW(cond->energy(x), c10::Error);
  EXPECT_EQ(cond->energy(x, torch::randn({4, 2})).sizes(), torch::IntArrayRef({4}));
}
