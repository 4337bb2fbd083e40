// The three terms F, P, R: values against a hand computation, and METHOD.md's gradient rules.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "jeffreys/divergence/importance.h"
#include "jeffreys/divergence/terms.h"
#include "jeffreys/energy/energy.h"
#include "jeffreys/flows/presets.h"
#include "support/expect_bijection.h"

namespace dv = jeffreys::divergence;
namespace fl = jeffreys::flows;
namespace en = jeffreys::energy;

namespace {

const auto kD = torch::TensorOptions().dtype(torch::kDouble);

struct Models {
  fl::Flow flow{nullptr};
  en::MLPEnergy energy{nullptr};
};

Models make_models(int64_t context = 0, uint64_t seed = 71) {
  torch::manual_seed(seed);
  Models m;
  m.flow = fl::make_flow(fl::FlowOptions(2).layers(2).hidden(16).context_features(context));
  m.flow->to(torch::kDouble);
  m.energy = en::MLPEnergy(en::MLPEnergyOptions(2).hidden(16).context_features(context));
  m.energy->to(torch::kDouble);
  return m;
}

enum class Grad { none, some, all };

/// Gradient of `y` with respect to each of `params`: none (every one undefined or zero), or all
/// (every one non-zero).
Grad gradient_reach(const torch::Tensor& y, const std::vector<torch::Tensor>& params) {
  auto g = torch::autograd::grad({y}, params, {}, /*retain_graph=*/true, false, /*allow_unused=*/true);
  size_t nonzero = 0;
  for (const auto& t : g)
    if (t.defined() && t.abs().sum().item<double>() > 0) ++nonzero;
  return nonzero == 0 ? Grad::none : nonzero == g.size() ? Grad::all : Grad::some;
}

}  // namespace

TEST(JeffreysTerms, ValuesMatchHandComputation) {
  auto m = make_models();
  auto x = torch::randn({32, 2}, kD) + 0.5;
  dv::TermsRequest req;
  req.flow_samples = 64;
  auto t = dv::jeffreys_terms(*m.flow, m.energy.get(), x, {}, req, at::detail::createCPUGenerator(5));
  ASSERT_TRUE(t.F.defined() && t.P.defined() && t.R.defined() && t.log_z.defined());
  EXPECT_EQ(t.F.dim(), 0);

  torch::NoGradGuard g;
  auto z = torch::randn({64, 2}, at::detail::createCPUGenerator(5), kD);
  auto [y, ld] = m.flow->inverse(z);
  auto log_py = fl::standard_normal_log_prob(z) - ld;
  auto e_y = m.energy->energy(y);
  auto log_z = torch::logsumexp(-e_y - log_py, 0) - std::log(64.0);
  EXPECT_NEAR(t.F.item<double>(), -m.flow->log_prob(x).mean().item<double>(), 1e-12);
  EXPECT_NEAR(t.log_z.item<double>(), log_z.item<double>(), 1e-12);
  EXPECT_NEAR(t.P.item<double>(), (m.energy->energy(x).mean() + log_z).item<double>(), 1e-12);
  EXPECT_NEAR(t.R.item<double>(), ((log_py + e_y).mean() + log_z).item<double>(), 1e-12);
  EXPECT_NEAR(t.ess, dv::log_z_from_log_weights(-e_y - log_py).ess.item<double>(), 1e-9);
  // R is a KL estimate that Jensen's inequality keeps non-negative for any sample.
  EXPECT_GE(t.R.item<double>(), -1e-12);
}

TEST(JeffreysTerms, GradientRules) {
  auto m = make_models();
  auto x = torch::randn({32, 2}, kD);
  dv::TermsRequest req;
  req.flow_samples = 32;
  auto t = dv::jeffreys_terms(*m.flow, m.energy.get(), x, {}, req, at::detail::createCPUGenerator(6));
  const auto theta = m.flow->parameters();
  const auto psi = m.energy->parameters();
  // log Ẑ_ψ carries no gradient to θ, and reaches every energy parameter.
  EXPECT_EQ(gradient_reach(t.log_z, theta), Grad::none);
  EXPECT_EQ(gradient_reach(t.log_z, psi), Grad::all);
  // F is the flow's alone; P the energy's alone; R trains both.
  EXPECT_EQ(gradient_reach(t.F, psi), Grad::none);
  EXPECT_EQ(gradient_reach(t.F, theta), Grad::all);
  EXPECT_EQ(gradient_reach(t.P, theta), Grad::none);
  EXPECT_EQ(gradient_reach(t.P, psi), Grad::all);
  EXPECT_EQ(gradient_reach(t.R, theta), Grad::all);
  EXPECT_EQ(gradient_reach(t.R, psi), Grad::all);
}

TEST(JeffreysTerms, ProxyGradientIsContrastive) {
  // ∇ψ P = mean ∇E(x) - Σ w̃_j ∇E(y_j) with self-normalised weights w̃ (METHOD.md section 2).
  auto m = make_models();
  auto x = torch::randn({16, 2}, kD);
  dv::TermsRequest req;
  req.flow_samples = 32;
  req.reverse = false;
  auto t = dv::jeffreys_terms(*m.flow, m.energy.get(), x, {}, req, at::detail::createCPUGenerator(9));
  EXPECT_FALSE(t.R.defined());
  const auto psi = m.energy->parameters();
  auto gP = torch::autograd::grad({t.P}, psi);

  torch::Tensor y, log_py;
  {
    torch::NoGradGuard g;
    std::tie(y, log_py) = m.flow->sample_and_log_prob(32, {}, at::detail::createCPUGenerator(9));
  }
  auto e_y = m.energy->energy(y);
  auto w = torch::softmax((-e_y - log_py).detach(), 0);
  auto expected = torch::autograd::grad({m.energy->energy(x).mean() - (w * e_y).sum()}, psi);
  for (size_t i = 0; i < psi.size(); ++i) EXPECT_LT(jtest::max_abs_diff(gP[i], expected[i]), 1e-10);
}

TEST(JeffreysTerms, RequestsAndMissingEnergy) {
  auto m = make_models();
  auto x = torch::randn({8, 2}, kD);
  dv::TermsRequest only_f;
  only_f.proxy = only_f.reverse = false;
  auto t = dv::jeffreys_terms(*m.flow, nullptr, x, {}, only_f);
  EXPECT_TRUE(t.F.defined());
  EXPECT_FALSE(t.P.defined() || t.R.defined() || t.log_z.defined());
  EXPECT_EQ(t.ess, 0.0);
  dv::TermsRequest with_p;
  EXPECT_THROW(dv::jeffreys_terms(*m.flow, nullptr, x, {}, with_p), c10::Error);
  with_p.flow_samples = 0;
  EXPECT_THROW(dv::jeffreys_terms(*m.flow, m.energy.get(), x, {}, with_p), c10::Error);
}

TEST(JeffreysTerms, ConditionalLogZIsMeanOfPerContextEstimates) {
  const int64_t B = 5, K = 4, D = 2;
  auto m = make_models(/*context=*/2);
  auto x = torch::randn({B, D}, kD);
  auto c = torch::randn({B, 2}, kD) * 2;
  dv::TermsRequest req;
  req.flow_samples = K;
  auto t = dv::jeffreys_terms(*m.flow, m.energy.get(), x, c, req, at::detail::createCPUGenerator(17));

  // Same draws, split by hand: row k*B + i of the noise belongs to context i.
  torch::NoGradGuard g;
  auto z = torch::randn({K * B, D}, at::detail::createCPUGenerator(17), kD);
  double sum_log_z = 0, sum_ess = 0, sum_r = 0;
  for (int64_t i = 0; i < B; ++i) {
    auto rows = torch::arange(K, torch::kLong) * B + i;
    auto zi = z.index_select(0, rows);
    auto ci = c.narrow(0, i, 1).expand({K, 2});
    auto [yi, ld] = m.flow->inverse(zi, ci);
    auto log_p = fl::standard_normal_log_prob(zi) - ld;
    auto e = m.energy->energy(yi, ci);
    auto r = dv::log_z_from_log_weights(-e - log_p);
    // A separate estimate for this context alone, with the same samples.
    sum_log_z += r.log_z.item<double>();
    sum_ess += r.ess.item<double>();
    sum_r += (log_p + e).sum().item<double>();
  }
  EXPECT_NEAR(t.log_z.item<double>(), sum_log_z / B, 1e-10);
  EXPECT_NEAR(t.ess, sum_ess / B, 1e-9);
  EXPECT_NEAR(t.P.item<double>(), m.energy->energy(x, c).mean().item<double>() + sum_log_z / B, 1e-10);
  EXPECT_NEAR(t.R.item<double>(), sum_r / (K * B) + sum_log_z / B, 1e-10);
  EXPECT_NEAR(t.F.item<double>(), -m.flow->log_prob(x, c).mean().item<double>(), 1e-12);

  // The gradient rules hold in the conditional case too.
  torch::GradMode::set_enabled(true);
  auto t2 = dv::jeffreys_terms(*m.flow, m.energy.get(), x, c, req, at::detail::createCPUGenerator(18));
  EXPECT_EQ(gradient_reach(t2.log_z, m.flow->parameters()), Grad::none);
  EXPECT_EQ(gradient_reach(t2.log_z, m.energy->parameters()), Grad::all);
  EXPECT_EQ(gradient_reach(t2.P, m.flow->parameters()), Grad::none);
  EXPECT_EQ(gradient_reach(t2.R, m.flow->parameters()), Grad::all);
}

namespace {

TEST(JeffreysTerms, PAndROnARandomSubsetOfContextsAreUnbiasedAndFKeepsEveryRow) {
  auto m = make_models(/*context=*/2);
  auto g0 = at::detail::createCPUGenerator(3);
  const int64_t B = 24;
  auto context = torch::randn({B, 2}, g0, kD);
  auto x = context * 0.5 + torch::randn({B, 2}, g0, kD) * 0.3;
  dv::TermsRequest all;
  all.flow_samples = 32;
  dv::TermsRequest some = all;
  some.proxy_rows = 6;
  torch::NoGradGuard no_grad;
  // Averages over independent draws: the subset's P and R have the full batch's expectation.
  const int draws = 400;
  std::vector<double> p_all, r_all, p_some, r_some;
  auto gen = at::detail::createCPUGenerator(17);
  for (int i = 0; i < draws; ++i) {
    auto a = dv::jeffreys_terms(*m.flow, m.energy.get(), x, context, all, gen);
    auto s = dv::jeffreys_terms(*m.flow, m.energy.get(), x, context, some, gen);
    // F is computed on every row either way.
    EXPECT_DOUBLE_EQ(s.F.item<double>(), a.F.item<double>());
    p_all.push_back(a.P.item<double>());
    r_all.push_back(a.R.item<double>());
    p_some.push_back(s.P.item<double>());
    r_some.push_back(s.R.item<double>());
  }
  auto mean_se = [](const std::vector<double>& v) {
    auto t = torch::tensor(v, kD);
    return std::make_pair(t.mean().item<double>(), t.std().item<double>() / std::sqrt(static_cast<double>(v.size())));
  };
  for (auto [full, part] : {std::make_pair(mean_se(p_all), mean_se(p_some)), std::make_pair(mean_se(r_all), mean_se(r_some))}) {
    const double se = std::sqrt(full.second * full.second + part.second * part.second);
    EXPECT_LT(std::abs(full.first - part.first), 4 * se) << full.first << " vs " << part.first << " (se " << se << ")";
    // The subset is noisier (6 of 24 contexts), which is why its mean needed the draws.
    EXPECT_GT(part.second, full.second);
  }
}

}  // namespace

// W = log(M / ESS): its value is the sampler's ESS on the same draw, its gradient (to both models,
// through the reparameterised samples) matches central finite differences.
TEST(JeffreysTerms, DegeneracyIsLogOfSamplesOverESSWithItsGradient) {
  auto m = make_models();
  auto x = torch::randn({16, 2}, kD);
  dv::TermsRequest req;
  req.flow_samples = 48;
  req.forward = req.proxy = req.reverse = false;
  req.degeneracy = true;
  {
    torch::NoGradGuard ng;  // ActNorm's data initialisation, as the trainer does first
    m.flow->forward(x, {});
  }
  auto w_of = [&] { return dv::jeffreys_terms(*m.flow, m.energy.get(), x, {}, req, at::detail::createCPUGenerator(9)); };
  auto t = w_of();
  ASSERT_TRUE(t.W.defined());
  EXPECT_FALSE(t.F.defined() || t.P.defined() || t.R.defined());
  EXPECT_NEAR(t.W.item<double>(), std::log(48.0) - std::log(t.ess), 1e-9);
  EXPECT_GE(t.W.item<double>(), 0.0);
  EXPECT_EQ(gradient_reach(t.W, m.flow->parameters()), Grad::all);
  EXPECT_NE(gradient_reach(t.W, m.energy->parameters()), Grad::none);
  std::vector<torch::Tensor> params = m.energy->parameters();
  for (const auto& p : m.flow->parameters()) params.push_back(p);
  auto grads = torch::autograd::grad({t.W}, params, {}, false, false, /*allow_unused=*/true);
  // Central differences on a few entries of the energy's first weight and of the flow's first parameter.
  for (size_t which : {size_t{0}, m.energy->parameters().size()}) {
    auto p = params[which];
    for (int64_t i = 0; i < std::min<int64_t>(3, p.numel()); ++i) {
      const double h = 1e-6;
      torch::NoGradGuard ng;
      auto flat = p.view(-1);
      const double keep = flat[i].item<double>();
      flat[i] = keep + h;
      const double up = w_of().W.item<double>();
      flat[i] = keep - h;
      const double down = w_of().W.item<double>();
      flat[i] = keep;
      const double analytic = grads[which].defined() ? grads[which].view(-1)[i].item<double>() : 0.0;
      EXPECT_NEAR(analytic, (up - down) / (2 * h), 1e-5 * (1 + std::abs(analytic))) << "parameter " << which << "[" << i << "]";
    }
  }
  // Conditional: the mean over contexts of log(K / ESS(c)).
  auto mc = make_models(3);
  auto ctx = torch::randn({5, 3}, kD);
  auto tc = dv::jeffreys_terms(*mc.flow, mc.energy.get(), torch::randn({5, 2}, kD), ctx, req, at::detail::createCPUGenerator(4));
  ASSERT_TRUE(tc.W.defined());
  EXPECT_GT(tc.W.item<double>(), 0.0);
  EXPECT_LT(tc.W.item<double>(), std::log(48.0));
  // Unconditional W over several processes is refused (it would need a log-sum-exp across them).
  req.ranks = 2;
  EXPECT_THROW(w_of(), c10::Error);
}
