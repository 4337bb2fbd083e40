// The eight sbibm tasks against TASKS.md and against sbibm's own files: priors (support, density,
// moments), simulators (determinism; simulations at the true parameters agree with the observation
// the task's own likelihood, written out independently here, assigns to them), analytic posteriors
// against the reference posterior samples, and the ODE solutions against invariants and a fine
// fixed-step RK4. Statistical checks use 5 standard errors (chi-square bounds at the 0.9999 quantile)
// unless stated, so a correct implementation fails about once in 10^4 runs per check, and all seeds
// are fixed, so a passing run passes again.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "jeffreys/data/csv.h"
#include "jeffreys/simulators/task.h"
#include "simulators/sbibm_files.h"

namespace sim = jeffreys::simulators;

namespace {

at::Generator gen(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

constexpr int kObservations = 5;
constexpr int64_t kSims = 20000;

// Each column's sample mean within `k` standard errors of `mean`, given the true variances.
void expect_means(const torch::Tensor& samples, const torch::Tensor& mean, const torch::Tensor& var,
                  const std::string& what, double k = 5) {
  const auto n = static_cast<double>(samples.size(0));
  const auto err = (samples.mean(0) - mean).abs() / (var / n).sqrt();
  EXPECT_LT(err.max().item<double>(), k) << what << ": sample mean " << samples.mean(0) << " expected " << mean;
}

// Each column's sample variance within `k` standard errors of `var` (Gaussian-shaped tails:
// SE = var·√(2/n)).
void expect_variances(const torch::Tensor& samples, const torch::Tensor& var, const std::string& what, double k = 5) {
  const auto n = static_cast<double>(samples.size(0));
  const auto rel = (samples.var(0) / var - 1).abs();
  EXPECT_LT(rel.max().item<double>(), k * std::sqrt(2 / n)) << what << ": sample variance " << samples.var(0)
                                                             << " expected " << var;
}

torch::Tensor row(std::initializer_list<double> v) { return torch::tensor(std::vector<double>(v), torch::kDouble).unsqueeze(0); }

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

class EveryTask : public ::testing::TestWithParam<std::string> {};

std::string param_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace

TEST(TaskRegistry, NamesDimensionsAndUnknownNames) {
  const std::vector<std::string> expected = {"two_moons", "gaussian_linear", "gaussian_linear_uniform", "slcp",
                                             "gaussian_mixture", "bernoulli_glm", "sir", "lotka_volterra"};
  ASSERT_EQ(sim::task_names(), expected);
  const std::vector<std::pair<int64_t, int64_t>> dims = {{2, 2}, {10, 10}, {10, 10}, {5, 8}, {2, 2}, {10, 10}, {2, 10}, {4, 20}};
  for (size_t i = 0; i < expected.size(); ++i) {
    auto t = sim::make_task(expected[i]);
    EXPECT_EQ(t->name(), expected[i]);
    EXPECT_EQ(t->parameter_dim(), dims[i].first) << expected[i];
    EXPECT_EQ(t->data_dim(), dims[i].second) << expected[i];
    const bool analytic = expected[i] == "gaussian_linear" || expected[i] == "gaussian_linear_uniform" ||
                          expected[i] == "gaussian_mixture";
    EXPECT_EQ(t->has_analytic_posterior(), analytic) << expected[i];
    if (!analytic) {
      EXPECT_THROW(t->sample_posterior(torch::zeros({t->data_dim()}), 3, gen(0)), std::logic_error);
    }
  }
  try {
    sim::make_task("two-moons");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("two-moons"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("lotka_volterra"), std::string::npos);
  }
}

// Every prior draw is in the support with a finite log-density; draws and simulations repeat for the
// same generator seed and change with it; simulations have the right shape and are finite (the ODE
// tasks may lose a few rows to failed solves, as sbibm's; fewer than 1%).
TEST_P(EveryTask, PriorDrawsAndSimulationsAreValidAndDeterministic) {
  auto t = sim::make_task(GetParam());
  const int64_t n = 2000;
  const auto theta = t->sample_prior(n, gen(1));
  ASSERT_EQ(theta.sizes(), (at::IntArrayRef{n, t->parameter_dim()}));
  EXPECT_EQ(theta.scalar_type(), torch::kDouble);
  EXPECT_TRUE(t->in_support(theta).all().item<bool>());
  EXPECT_TRUE(t->prior_log_prob(theta).isfinite().all().item<bool>());
  EXPECT_TRUE(torch::equal(theta, t->sample_prior(n, gen(1))));
  EXPECT_FALSE(torch::equal(theta, t->sample_prior(n, gen(2))));

  const auto x = t->simulate(theta, gen(3));
  ASSERT_EQ(x.sizes(), (at::IntArrayRef{n, t->data_dim()}));
  EXPECT_EQ(x.scalar_type(), torch::kDouble);
  const double finite_rows = x.isfinite().all(1).to(torch::kDouble).mean().item<double>();
  if (GetParam() == "sir" || GetParam() == "lotka_volterra") {
    EXPECT_GT(finite_rows, 0.99);
  } else {
    EXPECT_EQ(finite_rows, 1.0);
  }
  EXPECT_TRUE(torch::allclose(x, t->simulate(theta, gen(3)), 0, 0, /*equal_nan=*/true));
  EXPECT_FALSE(torch::allclose(x, t->simulate(theta, gen(4)), 0, 0, true));
  // float32 parameters are accepted and give the same simulation up to their rounding.
  EXPECT_EQ(t->simulate(theta.to(torch::kFloat), gen(3)).sizes(), x.sizes());
  EXPECT_THROW(t->simulate(torch::zeros({3, t->parameter_dim() + 1}), gen(3)), c10::Error);
}

// sbibm's files agree with the task: widths, 10,000 reference samples, and every reference sample
// and true parameter in the prior's support (sbibm rejected the rest).
TEST_P(EveryTask, ObservationFilesFitTheTask) {
  SKIP_WITHOUT_SBIBM();
  auto t = sim::make_task(GetParam());
  for (int k = 1; k <= kObservations; ++k) {
    const auto o = sim::read_observation(sbibm_files::obs_folder(GetParam(), k), *t);
    EXPECT_EQ(o.reference_posterior_samples.size(0), 10000);
    EXPECT_TRUE(t->in_support(o.true_parameters).all().item<bool>()) << "obs " << k;
    EXPECT_TRUE(t->in_support(o.reference_posterior_samples).all().item<bool>()) << "obs " << k;
    EXPECT_TRUE(t->prior_log_prob(o.reference_posterior_samples).isfinite().all().item<bool>()) << "obs " << k;
  }
}

// Prior moments and density against the priors TASKS.md states, computed independently here:
// uniform boxes, N(0, 0.1·I), the bernoulli_glm smoothness prior (through its covariance), and the
// log-normals (through log θ, which is exactly normal). 20,000 draws; 5 standard errors.
TEST_P(EveryTask, PriorMatchesItsStatedDistribution) {
  const auto name = GetParam();
  auto t = sim::make_task(name);
  const int64_t d = t->parameter_dim();
  const auto theta = t->sample_prior(kSims, gen(11));
  const auto lp = t->prior_log_prob(theta);
  auto outside = theta.narrow(0, 0, 4).clone();
  if (name == "two_moons" || name == "gaussian_linear_uniform" || name == "slcp" || name == "gaussian_mixture") {
    const double hi = name == "slcp" ? 3 : name == "gaussian_mixture" ? 10 : 1;
    const auto var = torch::full({d}, std::pow(2 * hi, 2) / 12, torch::kDouble);
    expect_means(theta, torch::zeros({d}, torch::kDouble), var, name + " prior");
    expect_variances(theta, var, name + " prior");
    EXPECT_TRUE(torch::allclose(lp, torch::full_like(lp, -static_cast<double>(d) * std::log(2 * hi))));
    EXPECT_NEAR(theta.abs().max().item<double>(), hi, 0.01 * hi);
    outside.select(1, d - 1).fill_(hi * 1.001);
    auto edge = theta.narrow(0, 0, 1).clone();
    edge.fill_(-hi);  // the box is closed
    EXPECT_TRUE(t->in_support(edge).item<bool>());
  } else if (name == "gaussian_linear" || name == "bernoulli_glm") {
    // bernoulli_glm's precision written out entry by entry: 0.5 for the offset; FᵀF with
    // F = D² + diag(√(j/9)), D the first difference.
    auto precision = torch::eye(d, torch::kDouble) * 10;
    if (name == "bernoulli_glm") {
      auto f = torch::zeros({9, 9}, torch::kDouble);
      for (int i = 0; i < 9; ++i) {
        f[i][i] = 1 + std::sqrt(i / 9.0);  // D² has 1, -2, 1 on its diagonal and the two below it
        if (i >= 1) f[i][i - 1] = -2;
        if (i >= 2) f[i][i - 2] = 1;
      }
      precision = torch::zeros({10, 10}, torch::kDouble);
      precision[0][0] = 0.5;
      precision.narrow(0, 1, 9).narrow(1, 1, 9).copy_(f.t().matmul(f));
    }
    const auto cov = torch::linalg_inv(precision);
    const auto c = theta.t().matmul(theta) / kSims;  // mean 0 known
    const auto se = ((cov.diagonal().unsqueeze(1) * cov.diagonal().unsqueeze(0) + cov.square()) / kSims).sqrt();
    EXPECT_LT(((c - cov).abs() / se).max().item<double>(), 5) << name << " prior covariance";
    const auto expected_lp = -0.5 * (theta.matmul(precision) * theta).sum(1) - 0.5 * d * std::log(2 * M_PI) +
                             0.5 * torch::logdet(precision);
    EXPECT_TRUE(torch::allclose(lp, expected_lp, 1e-10, 1e-10));
    outside.select(1, 0).fill_(std::nan(""));
  } else {
    const auto mu = name == "sir" ? torch::tensor({std::log(0.4), std::log(0.125)}, torch::kDouble)
                                  : torch::tensor({-0.125, -3.0, -0.125, -3.0}, torch::kDouble);
    const auto sigma = name == "sir" ? torch::tensor({0.5, 0.2}, torch::kDouble) : torch::full({4}, 0.5, torch::kDouble);
    const auto log_t = theta.log();
    expect_means(log_t, mu, sigma.square(), name + " prior (log)");
    expect_variances(log_t, sigma.square(), name + " prior (log)");
    const auto expected_lp =
        (-log_t - sigma.log() - 0.5 * std::log(2 * M_PI) - (log_t - mu).square() / (2 * sigma.square())).sum(1);
    EXPECT_TRUE(torch::allclose(lp, expected_lp, 1e-10, 1e-10));
    outside.select(1, d - 1).fill_(0.0);
    outside[1][0] = -1.0;
  }
  const auto lp_out = t->prior_log_prob(outside);
  const auto sup_out = t->in_support(outside);
  for (int i = 0; i < 2; ++i) {  // rows 0 and 1 are outside for every prior
    EXPECT_FALSE(sup_out[i].item<bool>()) << name;
    if (name != "gaussian_linear" && name != "bernoulli_glm") {
      EXPECT_EQ(lp_out[i].item<double>(), -std::numeric_limits<double>::infinity()) << name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Sbibm, EveryTask, ::testing::ValuesIn(sim::task_names()), param_name);

// ---------------------------------------------------------------------------------------------
// two_moons: x = p + (-|θ1 + θ2|/√2, (θ2 - θ1)/√2) with p on a half circle of radius r ~ N(0.1, 0.01²)
// around (0.25, 0) (angle in (-π/2, π/2), so p lies right of 0.25).
TEST(TwoMoons, ObservationsLieOnTheMoonOfTheirTrueParameters) {
  SKIP_WITHOUT_SBIBM();
  auto t = sim::make_task("two_moons");
  auto moon_point = [](const torch::Tensor& x, const torch::Tensor& th) {
    const auto t0 = th.select(1, 0), t1 = th.select(1, 1);
    const auto px = x.select(1, 0) + (t0 + t1).abs() / std::sqrt(2.0) - 0.25;
    const auto py = x.select(1, 1) - (t1 - t0) / std::sqrt(2.0);
    return std::make_pair(px, py);
  };
  for (int k = 1; k <= kObservations; ++k) {
    const auto o = sbibm_files::read("two_moons", k);
    const auto [px, py] = moon_point(o.observation, o.true_parameters);
    const double r = (px.square() + py.square()).sqrt().item<double>();
    EXPECT_NEAR(r, 0.1, 4 * 0.01) << "obs " << k;
    EXPECT_GT(px.item<double>(), -1e-6) << "obs " << k;

    const auto theta = o.true_parameters.expand({kSims, 2});
    const auto x = t->simulate(theta, gen(100 + k));
    const auto [sx, sy] = moon_point(x, theta);
    const auto radius = (sx.square() + sy.square()).sqrt().unsqueeze(1);
    expect_means(radius, torch::full({1}, 0.1, torch::kDouble), torch::full({1}, 1e-4, torch::kDouble), "radius");
    expect_variances(radius, torch::full({1}, 1e-4, torch::kDouble), "radius");
    EXPECT_GT(sx.min().item<double>(), 0);
    const auto angle = torch::atan2(sy, sx).unsqueeze(1);  // U(-π/2, π/2)
    expect_means(angle, torch::zeros({1}, torch::kDouble), torch::full({1}, M_PI * M_PI / 12, torch::kDouble), "angle");
    EXPECT_LT(angle.abs().max().item<double>(), M_PI / 2);
    EXPECT_GT(angle.abs().max().item<double>(), M_PI / 2 - 0.01);
  }
}

// gaussian_linear: x ~ N(θ, 0.1·I); posterior N(x/2, 0.05·I). The reference samples (exact draws in
// sbibm) have that mean and covariance; sample_posterior and posterior_log_prob agree with it.
TEST(GaussianLinear, SimulatorAndAnalyticPosteriorMatchTheReference) {
  SKIP_WITHOUT_SBIBM();
  auto t = sim::make_task("gaussian_linear");
  const auto var = torch::full({10}, 0.1, torch::kDouble), post_var = torch::full({10}, 0.05, torch::kDouble);
  for (int k = 1; k <= kObservations; ++k) {
    const auto o = sbibm_files::read("gaussian_linear", k);
    const std::string obs = "obs " + std::to_string(k);
    EXPECT_LT(((o.observation - o.true_parameters).square() / 0.1).sum().item<double>(), 35.3) << obs;  // χ²₁₀
    const auto x = t->simulate(o.true_parameters.expand({kSims, 10}), gen(200 + k));
    expect_means(x, o.true_parameters[0], var, obs + " simulations");
    expect_variances(x, var, obs + " simulations");

    const auto ref = o.reference_posterior_samples;
    const auto x_o = o.observation[0];
    expect_means(ref, x_o / 2, post_var, obs + " reference");
    expect_variances(ref, post_var, obs + " reference");
    const auto cov = torch::cov(ref.t());
    const auto off = cov - torch::diag(cov.diagonal());
    EXPECT_LT(off.abs().max().item<double>(), 5 * 0.05 / std::sqrt(10000.0)) << obs;

    const auto ours = t->sample_posterior(o.observation, kSims, gen(300 + k));
    expect_means(ours, x_o / 2, post_var, obs + " sample_posterior");
    expect_variances(ours, post_var, obs + " sample_posterior");
    const auto lp = t->posterior_log_prob(ref, x_o);
    const auto expected = ((ref - x_o / 2).square() / -0.1 - 0.5 * std::log(2 * M_PI * 0.05)).sum(1);
    EXPECT_TRUE(torch::allclose(lp, expected, 1e-10, 1e-10)) << obs;
  }
}

// gaussian_linear_uniform: the posterior is N(x, 0.1·I) truncated to [-1, 1]^10. Its exact draws
// agree with the reference samples (means within 5 combined standard errors, variances within 9%,
// 5 SEs of the difference of two sample variances), and its log-density equals the product of the
// ten truncated normal densities written out here with erfc.
TEST(GaussianLinearUniform, AnalyticPosteriorMatchesTheReference) {
  SKIP_WITHOUT_SBIBM();
  auto t = sim::make_task("gaussian_linear_uniform");
  const double s = std::sqrt(0.1);
  for (int k = 1; k <= kObservations; ++k) {
    const auto o = sbibm_files::read("gaussian_linear_uniform", k);
    const std::string obs = "obs " + std::to_string(k);
    EXPECT_LT(((o.observation - o.true_parameters).square() / 0.1).sum().item<double>(), 35.3) << obs;
    const auto x = t->simulate(o.true_parameters.expand({kSims, 10}), gen(400 + k));
    expect_means(x, o.true_parameters[0], torch::full({10}, 0.1, torch::kDouble), obs + " simulations");

    const auto ref = o.reference_posterior_samples;
    const auto ours = t->sample_posterior(o.observation, kSims, gen(500 + k));
    EXPECT_TRUE(t->in_support(ours).all().item<bool>());
    const auto se = (ref.var(0) / ref.size(0) + ours.var(0) / kSims).sqrt();
    EXPECT_LT(((ref.mean(0) - ours.mean(0)).abs() / se).max().item<double>(), 5) << obs;
    EXPECT_LT((ours.var(0) / ref.var(0) - 1).abs().max().item<double>(), 0.09) << obs;

    const auto x_o = o.observation[0];
    auto expected = torch::zeros({ref.size(0)}, torch::kDouble);
    for (int i = 0; i < 10; ++i) {
      const double xi = x_o[i].item<double>();
      const double mass = normal_cdf((1 - xi) / s) - normal_cdf((-1 - xi) / s);
      expected += (ref.select(1, i) - xi).square() / (-2 * 0.1) - 0.5 * std::log(2 * M_PI * 0.1) - std::log(mass);
    }
    EXPECT_TRUE(torch::allclose(t->posterior_log_prob(ref, x_o), expected, 1e-9, 1e-9)) << obs;
  }
  // Far outside the box the inverse-CDF draws still land inside it, without a rejection loop.
  const auto far = torch::full({10}, 3.0, torch::kDouble);
  const auto edge = t->sample_posterior(far, 1000, gen(1));
  EXPECT_TRUE(t->in_support(edge).all().item<bool>());
  EXPECT_GT(edge.min().item<double>(), 0.0);
}

// gaussian_mixture: x ~ ½ N(θ, I) + ½ N(θ, 0.01·I), one component for both coordinates.
TEST(GaussianMixture, SimulatorAndAnalyticPosteriorMatchTheReference) {
  SKIP_WITHOUT_SBIBM();
  auto t = sim::make_task("gaussian_mixture");
  // P(‖x - θ‖ < 0.3) = ½ (1 - e^{-0.09/0.02}) + ½ (1 - e^{-0.09/2}): the narrow component is a
  // Rayleigh radius of scale 0.1, the wide one of scale 1.
  const double p_near = 0.5 * (1 - std::exp(-4.5)) + 0.5 * (1 - std::exp(-0.045));
  auto frac_near = [](const torch::Tensor& a, const torch::Tensor& centre) {
    return (a - centre).square().sum(1).lt(0.09).to(torch::kDouble).mean().item<double>();
  };
  for (int k = 1; k <= kObservations; ++k) {
    const auto o = sbibm_files::read("gaussian_mixture", k);
    const std::string obs = "obs " + std::to_string(k);
    EXPECT_LT((o.observation - o.true_parameters).abs().max().item<double>(), 5.0) << obs;
    const auto x = t->simulate(o.true_parameters.expand({kSims, 2}), gen(600 + k));
    EXPECT_NEAR(frac_near(x, o.true_parameters), p_near, 5 * std::sqrt(p_near * (1 - p_near) / kSims)) << obs;
    expect_means(x, o.true_parameters[0], torch::full({2}, 0.5 * 1 + 0.5 * 0.01, torch::kDouble), obs);

    // Posterior draws against the reference: means, and the share within 0.3 of x_o (the narrow
    // component's weight), each within 5 combined standard errors.
    const auto ref = o.reference_posterior_samples;
    const auto ours = t->sample_posterior(o.observation, kSims, gen(700 + k));
    EXPECT_TRUE(t->in_support(ours).all().item<bool>());
    const auto se = (ref.var(0) / ref.size(0) + ours.var(0) / kSims).sqrt();
    EXPECT_LT(((ref.mean(0) - ours.mean(0)).abs() / se).max().item<double>(), 5) << obs;
    const double pr = frac_near(ref, o.observation), po = frac_near(ours, o.observation);
    EXPECT_NEAR(pr, po, 5 * std::sqrt(pr * (1 - pr) / 10000 + po * (1 - po) / kSims)) << obs;
  }
  // posterior_log_prob is normalised over the box: midpoint rule on the whole box with step 0.02
  // (σ/5 for the narrow component, where the rule's error on a Gaussian is far below 1e-6).
  const auto x_o = torch::tensor({9.5, -3.0}, torch::kDouble);  // close to an edge, so truncation matters
  const int64_t cells = 1000;
  const auto c = torch::linspace(-10 + 0.01, 10 - 0.01, cells, torch::kDouble);
  const auto grid = torch::stack(torch::meshgrid({c, c}, "ij"), 2).reshape({-1, 2});
  const double integral = t->posterior_log_prob(grid, x_o).exp().sum().item<double>() * 0.02 * 0.02;
  EXPECT_NEAR(integral, 1.0, 1e-4);
  EXPECT_EQ(t->posterior_log_prob(row({10.5, 0.0}), x_o).item<double>(), -std::numeric_limits<double>::infinity());
}

// slcp: four i.i.d. points from N(m, S) with m = (θ1, θ2), standard deviations θ3², θ4², correlation
// tanh θ5, and 1e-6 added to the variances.
TEST(Slcp, SimulationsFollowTheStatedGaussianAtTheTrueParameters) {
  SKIP_WITHOUT_SBIBM();
  auto t = sim::make_task("slcp");
  for (int k = 1; k <= kObservations; ++k) {
    const auto o = sbibm_files::read("slcp", k);
    const std::string obs = "obs " + std::to_string(k);
    const auto th = o.true_parameters[0];
    const double m0 = th[0].item<double>(), m1 = th[1].item<double>();
    const double s1 = std::pow(th[2].item<double>(), 2), s2 = std::pow(th[3].item<double>(), 2);
    const double rho = std::tanh(th[4].item<double>());
    const double c00 = s1 * s1 + 1e-6, c11 = s2 * s2 + 1e-6, c01 = rho * s1 * s2, det = c00 * c11 - c01 * c01;
    // The observation's four points: Mahalanobis distances add up to a χ²₈ draw.
    const auto pts = o.observation.reshape({4, 2});
    const auto dx = pts.select(1, 0) - m0, dy = pts.select(1, 1) - m1;
    const double maha = ((c11 * dx.square() - 2 * c01 * dx * dy + c00 * dy.square()) / det).sum().item<double>();
    EXPECT_LT(maha, 31.4) << obs;

    const auto x = t->simulate(o.true_parameters.expand({kSims, 5}), gen(800 + k)).reshape({kSims, 4, 2});
    const auto all = x.reshape({kSims * 4, 2});
    expect_means(all, torch::tensor({m0, m1}, torch::kDouble), torch::tensor({c00, c11}, torch::kDouble), obs);
    const auto cov = torch::cov(all.t());
    const double n = kSims * 4.0;
    EXPECT_NEAR(cov[0][0].item<double>(), c00, 5 * c00 * std::sqrt(2 / n)) << obs;
    EXPECT_NEAR(cov[1][1].item<double>(), c11, 5 * c11 * std::sqrt(2 / n)) << obs;
    EXPECT_NEAR(cov[0][1].item<double>(), c01, 5 * std::sqrt((c00 * c11 + c01 * c01) / n)) << obs;
    // The four points are independent: the first two are uncorrelated.
    const auto r = torch::corrcoef(torch::stack({x.select(1, 0).select(1, 0), x.select(1, 1).select(1, 0)}));
    EXPECT_LT(r[0][1].abs().item<double>(), 5 / std::sqrt(static_cast<double>(kSims))) << obs;
  }
}

// bernoulli_glm: the stimulus regenerated from numpy's RandomState(42) equals stimulus_I.csv; the
// summary's mean and covariance at θ are Xᵀσ(Xθ) and Xᵀ diag(p(1-p)) X (X built here from the file);
// and sbibm's MCMC reference posterior satisfies the score identity E_post[∇ log p(θ | x_o)] = 0 with
// ∇ log p = x_o - Xᵀσ(Xθ) - B⁻¹θ, which checks the prior's precision and the summary against sbibm's
// own likelihood (with the precision's √(j/9) replaced by j/9 the identity fails by 7-24 SEs).
TEST(BernoulliGlm, StimulusSimulatorAndPriorMatchSbibm) {
  SKIP_WITHOUT_SBIBM();
  const auto file = jeffreys::data::read_csv(sbibm_files::task_folder("bernoulli_glm") + "/stimulus_I.csv").to(torch::kDouble).reshape({-1});
  const auto stimulus = sim::bernoulli_glm_stimulus();
  ASSERT_EQ(stimulus.size(0), 100);
  EXPECT_LT((stimulus - file).abs().max().item<double>(), 1e-7);  // the file's 9 significant digits
  EXPECT_DOUBLE_EQ(stimulus[0].item<double>(), 0.4967141530112327);

  auto design = torch::zeros({100, 10}, torch::kDouble);
  for (int t = 0; t < 100; ++t) {
    design[t][0] = 1.0;
    for (int j = 0; j < 9; ++j)
      if (t >= j) design[t][j + 1] = file[t - j].item<double>();
  }
  auto f = torch::zeros({9, 9}, torch::kDouble);
  for (int i = 0; i < 9; ++i) {
    f[i][i] = 1 + std::sqrt(i / 9.0);
    if (i >= 1) f[i][i - 1] = -2;
    if (i >= 2) f[i][i - 2] = 1;
  }
  auto precision = torch::zeros({10, 10}, torch::kDouble);
  precision[0][0] = 0.5;
  precision.narrow(0, 1, 9).narrow(1, 1, 9).copy_(f.t().matmul(f));

  auto task = sim::make_task("bernoulli_glm");
  for (int k = 1; k <= kObservations; ++k) {
    const auto o = sbibm_files::read("bernoulli_glm", k);
    const std::string obs = "obs " + std::to_string(k);
    const auto p = design.matmul(o.true_parameters[0]).sigmoid();
    const auto mean = design.t().matmul(p);
    const auto cov = design.t().matmul(design * (p * (1 - p)).unsqueeze(1));
    const auto r = o.observation[0] - mean;
    EXPECT_LT(r.dot(torch::linalg_solve(cov, r)).item<double>(), 35.3) << obs;  // χ²₁₀
    const auto x = task->simulate(o.true_parameters.expand({kSims, 10}), gen(900 + k));
    expect_means(x, mean, cov.diagonal(), obs + " simulations");
    expect_variances(x, cov.diagonal(), obs + " simulations", 6);  // spike counts: slightly heavier tails

    const auto ref = o.reference_posterior_samples;
    const auto score = o.observation - ref.matmul(design.t()).sigmoid().matmul(design) - ref.matmul(precision);
    const auto z = score.mean(0) / (score.std(0) / std::sqrt(static_cast<double>(ref.size(0))));
    // 4.5 rather than 5 standard errors would do for independent draws; MCMC draws are correlated, and
    // sbibm's give at most 2.6 here.
    EXPECT_LT(z.abs().max().item<double>(), 5) << obs << " score identity, z = " << z;
  }
}

// ---------------------------------------------------------------------------------------------
// The ODE tasks. A fixed-step RK4 written here is the independent reference.
namespace {

template <typename F>
std::vector<std::vector<double>> rk4(F f, std::vector<double> x, double t_end, double h, int every) {
  std::vector<std::vector<double>> out{x};
  const int steps = static_cast<int>(std::lround(t_end / h));
  const size_t d = x.size();
  auto axpy = [&](const std::vector<double>& a, const std::vector<double>& b, double c) {
    std::vector<double> r(d);
    for (size_t i = 0; i < d; ++i) r[i] = a[i] + c * b[i];
    return r;
  };
  for (int s = 1; s <= steps; ++s) {
    const auto k1 = f(x), k2 = f(axpy(x, k1, h / 2)), k3 = f(axpy(x, k2, h / 2)), k4 = f(axpy(x, k3, h));
    for (size_t i = 0; i < d; ++i) x[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
    if (s % every == 0) out.push_back(x);
  }
  return out;
}

}  // namespace

// sir: (S, I, R) solved with dS/dt = -βSI/N, dI/dt = βSI/N - γI, dR/dt = γI. The solution conserves
// S + I + R = N and S·exp(βR/(γN)); at the true parameters it agrees with RK4 at step 0.005 days
// (error ~1e-9 relative), and the observation is a Binomial(1000, I/N) draw: each count within 5
// standard deviations (plus one count, for the discreteness) of 1000·I/N, as are the means of
// 20,000 simulations.
TEST(Sir, OdeSolutionAndObservationsAgree) {
  SKIP_WITHOUT_SBIBM();
  std::vector<double> days;
  for (int d = 0; d <= 160; ++d) days.push_back(d);
  auto task = sim::make_task("sir");
  const auto prior = task->sample_prior(50, gen(5));
  const auto traj = sim::sir_trajectory(prior, days);
  ASSERT_EQ(traj.sizes(), (at::IntArrayRef{50, 161, 3}));
  ASSERT_TRUE(traj.isfinite().all().item<bool>());
  EXPECT_LT((traj.sum(2) / 1e6 - 1).abs().max().item<double>(), 1e-10);
  // S = S0·exp(-βR/(γN)), compared in people (S itself can fall to a fraction of one).
  const auto beta = prior.select(1, 0).view({50, 1}), gamma = prior.select(1, 1).view({50, 1});
  const auto s_from_r = (1e6 - 1) * (-beta * traj.select(2, 2) / (gamma * 1e6)).exp();
  EXPECT_LT((traj.select(2, 0) - s_from_r).abs().max().item<double>(), 1.0);

  for (int k = 1; k <= kObservations; ++k) {
    const auto o = sbibm_files::read("sir", k);
    const std::string obs = "obs " + std::to_string(k);
    const double b = o.true_parameters[0][0].item<double>(), g = o.true_parameters[0][1].item<double>();
    const auto ref = rk4([&](const std::vector<double>& s) {
          const double inf = b * s[0] * s[1] / 1e6;
          return std::vector<double>{-inf, inf - g * s[1], g * s[1]};
        }, {1e6 - 1, 1, 0}, 160, 0.005, 200);
    const auto ours = sim::sir_trajectory(o.true_parameters, days)[0];
    double worst = 0;
    for (int d = 0; d <= 160; ++d)
      for (int c = 0; c < 3; ++c)
        worst = std::max(worst, std::abs(ours[d][c].item<double>() - ref[d][c]) / std::max(1.0, std::abs(ref[d][c])));
    EXPECT_LT(worst, 1e-6) << obs;

    std::vector<double> every17;
    for (int j = 0; j < 10; ++j) every17.push_back(17.0 * j);
    const auto p = sim::sir_trajectory(o.true_parameters, every17)[0].select(1, 1) / 1e6;
    const auto mean = 1000 * p, sd = (1000 * p * (1 - p)).sqrt();
    EXPECT_TRUE(((o.observation[0] - mean).abs() <= 5 * sd + 1).all().item<bool>())
        << obs << ": " << o.observation << " expected about " << mean;
    const auto x = task->simulate(o.true_parameters.expand({kSims, 2}), gen(1000 + k));
    EXPECT_TRUE(((x.mean(0) - mean).abs() <= 5 * sd / std::sqrt(static_cast<double>(kSims)) + 1e-9).all().item<bool>()) << obs;
    EXPECT_TRUE(x.ge(0).logical_and(x.le(1000)).all().item<bool>());
    EXPECT_TRUE(torch::equal(x, x.round()));
  }
}

// lotka_volterra: the solution conserves V = δX - γ log X + βY - α log Y; at the true parameters it
// agrees with RK4 at step 0.0005 (error ~1e-10 relative); the observation's log-residuals
// log x - log clamp(u, 1e-10, 1e4) are N(0, 0.1²): their sum of squares over the 20 values is below
// χ²₂₀'s 0.9999 quantile (52.8), and 20,000 simulations give residual means within 5 SEs and
// standard deviations within 5 SEs of 0.1.
TEST(LotkaVolterra, OdeSolutionAndObservationsAgree) {
  SKIP_WITHOUT_SBIBM();
  std::vector<double> times;
  for (int i = 0; i <= 200; ++i) times.push_back(0.1 * i);
  auto task = sim::make_task("lotka_volterra");
  const auto prior = task->sample_prior(50, gen(6));
  const auto traj = sim::lotka_volterra_trajectory(prior, times);
  ASSERT_EQ(traj.sizes(), (at::IntArrayRef{50, 201, 2}));
  const auto ok = traj.isfinite().all(2).all(1);
  EXPECT_GE(ok.sum().item<int64_t>(), 49);
  for (int64_t i = 0; i < 50; ++i) {
    if (!ok[i].item<bool>()) continue;
    const auto th = prior[i];
    const double a = th[0].item<double>(), b = th[1].item<double>(), g = th[2].item<double>(), d = th[3].item<double>();
    const auto xs = traj[i].select(1, 0), ys = traj[i].select(1, 1);
    if (xs.min().item<double>() < 1e-6 || ys.min().item<double>() < 1e-6) continue;  // V needs logs of sizeable values
    const auto v = d * xs - g * xs.log() + b * ys - a * ys.log();
    const auto scale = (d * xs).abs() + (g * xs.log()).abs() + (b * ys).abs() + (a * ys.log()).abs();
    EXPECT_LT(((v - v[0]).abs() / scale).max().item<double>(), 1e-6) << "prior draw " << i;
  }

  for (int k = 1; k <= kObservations; ++k) {
    const auto o = sbibm_files::read("lotka_volterra", k);
    const std::string obs = "obs " + std::to_string(k);
    const auto th = o.true_parameters[0];
    const double a = th[0].item<double>(), b = th[1].item<double>(), g = th[2].item<double>(), d = th[3].item<double>();
    const auto ref = rk4([&](const std::vector<double>& s) {
          return std::vector<double>{a * s[0] - b * s[0] * s[1], -g * s[1] + d * s[0] * s[1]};
        }, {30, 1}, 20, 0.0005, 200);
    const auto ours = sim::lotka_volterra_trajectory(o.true_parameters, times)[0];
    double worst = 0;
    for (int i = 0; i <= 200; ++i)
      for (int c = 0; c < 2; ++c)
        worst = std::max(worst, std::abs(ours[i][c].item<double>() - ref[i][c]) / std::abs(ref[i][c]));
    EXPECT_LT(worst, 1e-6) << obs;

    std::vector<double> every21;
    for (int j = 0; j < 10; ++j) every21.push_back(2.1 * j);
    const auto u = sim::lotka_volterra_trajectory(o.true_parameters, every21)[0].t().reshape({20});
    const auto log_u = u.clamp(1e-10, 1e4).log();
    EXPECT_LT(((o.observation[0].log() - log_u) / 0.1).square().sum().item<double>(), 52.8) << obs;
    const auto x = task->simulate(o.true_parameters.expand({kSims, 4}), gen(1100 + k));
    const auto resid = x.log() - log_u;
    expect_means(resid, torch::zeros({20}, torch::kDouble), torch::full({20}, 0.01, torch::kDouble), obs);
    expect_variances(resid, torch::full({20}, 0.01, torch::kDouble), obs);
  }
}
