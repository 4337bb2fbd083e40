// Held-out NLL of the flow (exact) and of the energy model (log Z by importance sampling).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "jeffreys/flows/presets.h"
#include "jeffreys/metrics/nll.h"
#include "jeffreys/transforms/actnorm.h"
#include "support/gaussian_energy.h"

namespace fl = jeffreys::flows;
namespace mt = jeffreys::metrics;

namespace {
const auto kD = torch::TensorOptions().dtype(torch::kDouble);
}

TEST(MetricsNll, FlowNllIsMeanNegativeLogProbInChunks) {
  torch::manual_seed(81);
  auto flow = fl::make_flow(fl::FlowOptions(2).layers(3).hidden(16));
  flow->to(torch::kDouble);
  auto x = torch::randn({1000, 2}, kD);
  const double direct = -flow->log_prob(x).mean().item<double>();
  EXPECT_NEAR(mt::flow_nll(*flow, x, {}, 128), direct, 1e-10);
  EXPECT_NEAR(mt::flow_nll(*flow, x, {}, 1000000), direct, 1e-10);
  // float32 data goes to the flow's dtype.
  EXPECT_NEAR(mt::flow_nll(*flow, x.to(torch::kFloat)), -flow->log_prob(x.to(torch::kFloat).to(torch::kDouble)).mean().item<double>(), 1e-10);
  EXPECT_THROW(mt::flow_nll(*flow, torch::randn({4, 3}, kD)), c10::Error);
}

TEST(MetricsNll, FlowNllWithContext) {
  torch::manual_seed(82);
  auto flow = fl::make_flow(fl::FlowOptions(2).context_features(3).layers(2).hidden(16));
  flow->to(torch::kDouble);
  auto x = torch::randn({300, 2}, kD), c = torch::randn({300, 3}, kD);
  EXPECT_NEAR(mt::flow_nll(*flow, x, c, 64), -flow->log_prob(x, c).mean().item<double>(), 1e-10);
  EXPECT_THROW(mt::flow_nll(*flow, x, c.narrow(0, 0, 10)), c10::Error);
}

TEST(MetricsNll, FlowNllLeavesTrainingModeAndActNormAlone) {
  torch::manual_seed(83);
  auto flow = fl::make_flow(fl::FlowOptions(2).layers(2).hidden(8).actnorm(true));
  flow->to(torch::kDouble);
  ASSERT_TRUE(flow->is_training());
  mt::flow_nll(*flow, torch::randn({100, 2}, kD) * 5 + 3);
  EXPECT_TRUE(flow->is_training());
  // Test data must not initialise ActNorm (that would fit the model to the test set).
  int seen = 0;
  for (const auto& t : flow->transforms())
    if (auto an = std::dynamic_pointer_cast<jeffreys::transforms::ActNormImpl>(t)) {
      ++seen;
      EXPECT_FALSE(an->initialized());
    }
  EXPECT_GT(seen, 0);
}

TEST(MetricsNll, ProxyNllMatchesTheTrueNormaliserWithinItsErrorBar) {
  auto mu = torch::tensor({0.5, -1.0}, kD);
  auto s = torch::tensor({1.0, 0.5}, kD);
  jtest::GaussianEnergyImpl energy(mu, torch::log(s));
  // A proposal that is close but not equal to the energy model, so the weights vary.
  auto flow = jtest::gaussian_flow(torch::tensor({0.3, -0.8}, kD), torch::tensor({1.3, 0.7}, kD));
  auto gen = at::detail::createCPUGenerator(84);
  auto x = torch::randn({2000, 2}, gen, kD) * 1.1 + torch::tensor({0.4, -1.1}, kD);
  const double exact = energy.energy(x).mean().item<double>() + energy.true_log_z();
  auto r = mt::proxy_nll(*flow, energy, x, 20000, gen);
  EXPECT_GT(r.log_z_std_error, 0.0);
  EXPECT_LT(r.log_z_std_error, 0.02);  // so that 5 standard errors is a sharp check
  EXPECT_NEAR(r.nll, exact, 5 * r.log_z_std_error);
  EXPECT_NEAR(r.log_z, energy.true_log_z(), 5 * r.log_z_std_error);
  EXPECT_NEAR(r.nll - r.log_z, energy.energy(x).mean().item<double>(), 1e-10);
  EXPECT_GT(r.ess, 1000.0);
  EXPECT_LE(r.ess, 20000.0);
}
