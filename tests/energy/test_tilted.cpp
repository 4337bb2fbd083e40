// The tilted proxy q ∝ p_θ̄ exp(-E_ψ): exact values when the tilt is constant, and METHOD.md's
// gradient rules with θ̄ detached — R's gradient to θ equals finite differences of R with a frozen
// copy of the flow as θ̄. With a moving average θ̄ (-T<d>): its update rule, the same gradient rules,
// decay 0 training as the detached flow, and θ̄ resumed from a checkpoint.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>

#include "jeffreys/divergence/terms.h"
#include "jeffreys/energy/energy.h"
#include "jeffreys/energy/tilted.h"
#include "jeffreys/flows/presets.h"
#include "jeffreys/train/models.h"
#include "jeffreys/train/trainer.h"
#include "support/expect_bijection.h"

namespace dv = jeffreys::divergence;
namespace fl = jeffreys::flows;
namespace en = jeffreys::energy;
namespace tr = jeffreys::train;
namespace cs = jeffreys::constrained;

namespace {
const auto kD = torch::TensorOptions().dtype(torch::kDouble);

fl::Flow make_flow(int64_t context = 0, uint64_t seed = 5) {
  torch::manual_seed(seed);
  auto f = fl::make_flow(fl::FlowOptions(2).layers(2).hidden(16).context_features(context));
  f->to(torch::kDouble);
  return f;
}

std::shared_ptr<en::MLPEnergyImpl> make_energy(int64_t context = 0, uint64_t seed = 6) {
  torch::manual_seed(seed);
  auto e = std::make_shared<en::MLPEnergyImpl>(en::MLPEnergyOptions(2).hidden(16).context_features(context));
  e->to(torch::kDouble);
  return e;
}

std::vector<torch::Tensor> copies(const std::vector<torch::Tensor>& ps) {
  std::vector<torch::Tensor> out;
  for (const auto& p : ps) out.push_back(p.detach().clone());
  return out;
}

double max_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, (a[i] - b[i]).abs().max().item<double>());
  return m;
}

/// Moves every parameter of `flow` a little, as an optimiser step would.
void nudge(fl::Flow& flow, uint64_t seed) {
  torch::NoGradGuard g;
  auto gen = at::detail::createCPUGenerator(seed);
  for (auto& p : flow->parameters()) p.add_(torch::randn(p.sizes(), gen, kD) * 0.05);
}

/// θ̄ as a list: the buffers of `q` named theta_bar_<i>, in order.
std::vector<torch::Tensor> theta_bar(const en::TiltedEnergyImpl& q) {
  std::vector<torch::Tensor> out;
  for (const auto& b : q.named_buffers(false))
    if (b.key().rfind("theta_bar_", 0) == 0 && b.key() != "theta_bar_steps") out.push_back(b.value());
  return out;
}

tr::TrainerOptions trainer_options() {
  tr::TrainerOptions o;
  o.batch_size = 64;
  o.flow_samples = 32;
  o.main.adam.lr = 5e-3;
  o.proxy.adam.lr = 5e-3;
  o.seed = 4321;
  return o;
}

/// `grads` (of some f to `theta`) against central differences of f, on the first two entries of
/// every third parameter tensor.
void expect_gradient_matches_differences(const std::vector<torch::Tensor>& theta, const std::vector<torch::Tensor>& grads,
                                         const std::function<double()>& f) {
  int checked = 0;
  for (size_t k = 0; k < theta.size() && checked < 6; k += 3) {
    auto flat = theta[k].view(-1);
    for (int64_t i = 0; i < std::min<int64_t>(2, flat.numel()); ++i, ++checked) {
      const double h = 1e-6;
      torch::NoGradGuard g;
      const double keep = flat[i].item<double>();
      flat[i] = keep + h;
      const double up = f();
      flat[i] = keep - h;
      const double down = f();
      flat[i] = keep;
      const double analytic = grads[k].defined() ? grads[k].view(-1)[i].item<double>() : 0.0;
      EXPECT_NEAR(analytic, (up - down) / (2 * h), 1e-5 * (1 + std::abs(analytic))) << "θ[" << k << "][" << i << "]";
    }
  }
  EXPECT_GE(checked, 4);
}

bool reaches(const torch::Tensor& y, const std::vector<torch::Tensor>& params) {
  auto g = torch::autograd::grad({y}, params, {}, true, false, true);
  for (const auto& t : g)
    if (t.defined() && t.abs().sum().item<double>() > 0) return true;
  return false;
}
}  // namespace

TEST(TiltedEnergy, AConstantTiltIsTheFlowItself) {
  auto flow = make_flow();
  auto psi = make_energy();
  {
    torch::NoGradGuard g;
    auto p = psi->net->parameters();
    p[p.size() - 2].zero_();      // output weights 0: E_ψ = its bias b
    p.back().fill_(0.7);
  }
  auto q = std::make_shared<en::TiltedEnergyImpl>(psi, flow);
  EXPECT_EQ(q->parameters().size(), psi->parameters().size());  // the flow is not the proxy's to train
  auto x = torch::randn({64, 2}, kD);
  {
    torch::NoGradGuard g;
    flow->forward(x, {});  // ActNorm's data initialisation
  }
  dv::TermsRequest req;
  req.flow_samples = 256;
  req.degeneracy = true;
  auto t = dv::jeffreys_terms(*flow, q.get(), x, {}, req, at::detail::createCPUGenerator(3));
  // q = p_θ exactly: log Z = -b, P = F, R = KL(p‖p) = 0, every importance weight equal.
  EXPECT_NEAR(t.log_z.item<double>(), -0.7, 1e-9);
  EXPECT_NEAR(t.P.item<double>(), t.F.item<double>(), 1e-9);
  EXPECT_NEAR(t.R.item<double>(), 0.0, 1e-9);
  EXPECT_NEAR(t.W.item<double>(), 0.0, 1e-9);
  EXPECT_NEAR(t.ess, 256.0, 1e-6);
}

TEST(TiltedEnergy, GradientRulesWithTheFlowDetached) {
  auto flow = make_flow();
  auto frozen = make_flow();  // the same parameters (same seed): θ̄ held fixed while θ moves
  auto psi = make_energy();
  auto x = torch::randn({32, 2}, kD) * 0.8;
  {
    torch::NoGradGuard g;
    flow->forward(x, {});
    frozen->forward(x, {});
  }
  auto q = std::make_shared<en::TiltedEnergyImpl>(psi, flow);
  dv::TermsRequest req;
  req.flow_samples = 64;
  auto terms = [&](en::EnergyImpl* e) { return dv::jeffreys_terms(*flow, e, x, {}, req, at::detail::createCPUGenerator(8)); };
  auto t = terms(q.get());
  const auto theta = flow->parameters();
  const auto phi = psi->parameters();
  EXPECT_FALSE(reaches(t.P, theta));      // P and log Ẑ: ψ only, as for a plain energy
  EXPECT_FALSE(reaches(t.log_z, theta));
  EXPECT_TRUE(reaches(t.P, phi));
  EXPECT_TRUE(reaches(t.R, theta));
  EXPECT_TRUE(reaches(t.R, phi));
  // ∂R/∂θ: the flow moves, θ̄ (the frozen copy) does not. log Ẑ sends no gradient to θ by the rules
  // (its estimate moves with the proposal, the true Z does not), so the differences are of R - log Ẑ.
  auto q_frozen = std::make_shared<en::TiltedEnergyImpl>(psi, frozen);
  EXPECT_NEAR(terms(q_frozen.get()).R.item<double>(), t.R.item<double>(), 1e-10);
  expect_gradient_matches_differences(theta, torch::autograd::grad({t.R}, theta, {}, false, false, true),
                                      [&] { return terms(q_frozen.get()).R_samples.item<double>(); });
}

TEST(TiltedEnergy, PerContextEqualsRepeatedContexts) {
  auto flow = make_flow(3);
  auto psi = make_energy(3);
  auto q = std::make_shared<en::TiltedEnergyImpl>(psi, flow);
  auto ctx = torch::randn({4, 3}, kD);
  auto x = torch::randn({12, 2}, kD);
  {
    torch::NoGradGuard g;
    flow->forward(x.narrow(0, 0, 4), ctx);
  }
  auto a = q->energy_per_context(x, ctx);
  auto b = q->energy(x, ctx.repeat({3, 1}));
  EXPECT_LT((a - b).abs().max().item<double>(), 1e-10);
  EXPECT_LT((b - (psi->energy(x, ctx.repeat({3, 1})) - flow->log_prob(x, ctx.repeat({3, 1})))).abs().max().item<double>(), 1e-10);
  EXPECT_THROW(std::make_shared<en::TiltedEnergyImpl>(make_energy(0), flow), c10::Error);  // context mismatch
}

TEST(TiltedEnergy, MovingAverageFollowsItsRule) {
  auto flow = make_flow();
  auto psi = make_energy();
  auto average = make_flow(0, 99);  // other parameters: the proxy must copy θ into it
  auto q = std::make_shared<en::TiltedEnergyImpl>(psi, flow, average, 0.9);
  EXPECT_EQ(q->parameters().size(), psi->parameters().size());  // θ̄ is not trained
  const auto bar = theta_bar(*q);
  ASSERT_EQ(bar.size(), flow->parameters().size());
  for (const auto& b : bar) EXPECT_FALSE(b.requires_grad());
  EXPECT_EQ(max_difference(bar, flow->parameters()), 0.0);
  auto x = torch::randn({40, 2}, kD);
  {
    torch::NoGradGuard g;
    flow->forward(x, {});  // ActNorm's data initialisation (the average takes the flow's buffers)
  }
  // Before the flow's first step θ̄ is the flow itself.
  EXPECT_EQ(q->average_steps(), 0);
  EXPECT_LT((q->energy(x) - (psi->energy(x) - flow->log_prob(x, {}))).abs().max().item<double>(), 1e-12);
  nudge(flow, 1);
  const auto theta1 = copies(flow->parameters());
  q->flow_stepped();
  EXPECT_EQ(max_difference(theta_bar(*q), theta1), 0.0);  // the first step copies θ
  nudge(flow, 2);
  const auto theta2 = copies(flow->parameters());
  q->flow_stepped();
  EXPECT_EQ(q->average_steps(), 2);
  std::vector<torch::Tensor> expected;
  for (size_t i = 0; i < theta1.size(); ++i) expected.push_back(0.9 * theta1[i] + 0.1 * theta2[i]);
  EXPECT_LT(max_difference(theta_bar(*q), expected), 1e-15);
  EXPECT_GT(max_difference(theta_bar(*q), theta2), 1e-4);  // θ̄ lags the flow
  // The proxy's base is now the averaged flow: the same energy as a flow holding θ̄.
  auto reference = make_flow();
  {
    torch::NoGradGuard g;
    auto r = reference->parameters();
    for (size_t i = 0; i < r.size(); ++i) r[i].copy_(expected[i]);
    reference->forward(x, {});
  }
  EXPECT_LT((q->energy(x) - (psi->energy(x) - reference->log_prob(x, {}))).abs().max().item<double>(), 1e-10);
  EXPECT_THROW(std::make_shared<en::TiltedEnergyImpl>(psi, flow, make_flow(), 1.0), c10::Error);
}

TEST(TiltedEnergy, GradientRulesWithAMovingAverage) {
  auto flow = make_flow();
  auto psi = make_energy();
  auto q = std::make_shared<en::TiltedEnergyImpl>(psi, flow, make_flow(), 0.5);
  auto x = torch::randn({32, 2}, kD) * 0.8;
  {
    torch::NoGradGuard g;
    flow->forward(x, {});
  }
  q->flow_stepped();
  nudge(flow, 3);  // θ̄ and θ apart
  dv::TermsRequest req;
  req.flow_samples = 64;
  auto terms = [&] { return dv::jeffreys_terms(*flow, q.get(), x, {}, req, at::detail::createCPUGenerator(8)); };
  auto t = terms();
  const auto theta = flow->parameters();
  const auto phi = psi->parameters();
  EXPECT_FALSE(reaches(t.P, theta));
  EXPECT_FALSE(reaches(t.log_z, theta));
  EXPECT_TRUE(reaches(t.P, phi));
  EXPECT_TRUE(reaches(t.R, theta));
  EXPECT_TRUE(reaches(t.R, phi));
  // θ̄ is its own copy: moving θ leaves it where it is, so finite differences of R over θ check the
  // analytic gradient directly.
  expect_gradient_matches_differences(theta, torch::autograd::grad({t.R}, theta, {}, false, false, true),
                                      [&] { return terms().R_samples.item<double>(); });
}

TEST(TiltedEnergy, DecayZeroTrainsAsTheDetachedFlow) {
  auto g = at::detail::createCPUGenerator(77);
  const auto data = torch::randn({400, 2}, g, kD) * 0.7 + 0.3;
  // One run per proxy: the flow itself (-T), an average with decay 0 (θ̄ = θ after every step), and
  // one with decay 0.5, which must train differently (so that the comparison can fail).
  auto run = [&](int kind) {
    auto flow = make_flow();
    auto psi = make_energy();
    auto q = kind == 0 ? std::make_shared<en::TiltedEnergyImpl>(psi, flow)
                       : std::make_shared<en::TiltedEnergyImpl>(psi, flow, make_flow(0, 50), kind == 1 ? 0.0 : 0.5);
    tr::Trainer t(flow, q, cs::formulation_by_name("jeffreys"), trainer_options());
    for (int i = 0; i < 15; ++i) t.step_on(data);
    auto all = copies(flow->parameters());
    for (const auto& p : psi->parameters()) all.push_back(p.detach().clone());
    return all;
  };
  const auto detached = run(0), zero = run(1), half = run(2);
  // Not bit for bit: the detached form adds and subtracts the same gradient to θ, which rounds.
  EXPECT_LT(max_difference(detached, zero), 1e-9);
  EXPECT_GT(max_difference(detached, half), 1e-6);
}

TEST(TiltedEnergy, MovingAverageResumesFromACheckpoint) {
  auto g = at::detail::createCPUGenerator(78);
  const auto data = torch::randn({400, 2}, g, kD) * 0.7 - 0.2;
  jtest::TempPath ckpt("tilted_average");
  auto build = [&](uint64_t seed) {
    auto flow = make_flow(0, seed);
    auto psi = make_energy(0, seed + 1);
    auto q = std::make_shared<en::TiltedEnergyImpl>(psi, flow, make_flow(0, seed + 2), 0.8);
    return std::make_tuple(flow, psi, q);
  };
  auto [fa, pa, qa] = build(10);
  tr::Trainer ta(fa, qa, cs::formulation_by_name("jeffreys"), trainer_options());
  for (int i = 0; i < 8; ++i) ta.step_on(data);
  ta.save(ckpt.str());
  std::vector<double> expected;
  for (int i = 0; i < 5; ++i) expected.push_back(ta.step_on(data).loss);
  auto [fb, pb, qb] = build(20);  // other parameters everywhere: all of it must come from the file
  tr::Trainer tb(fb, qb, cs::formulation_by_name("jeffreys"), trainer_options());
  tb.load(ckpt.str());
  EXPECT_EQ(qb->average_steps(), 8);
  std::vector<double> resumed;
  for (int i = 0; i < 5; ++i) resumed.push_back(tb.step_on(data).loss);
  EXPECT_EQ(resumed, expected);
  EXPECT_EQ(max_difference(theta_bar(*qa), theta_bar(*qb)), 0.0);
  EXPECT_EQ(qa->average_steps(), 13);
}

TEST(TiltedEnergy, ModelsBuildTheAverageWithoutMovingTheRunsRandomStream) {
  const auto flow = fl::FlowOptions(2).layers(2).hidden(16);
  const auto energy = en::MLPEnergyOptions(2).hidden(16);
  auto plain = tr::make_models(flow, energy, 3, torch::kCPU, true, 0.0);
  const auto after_plain = torch::randn({4});
  auto averaged = tr::make_models(flow, energy, 3, torch::kCPU, true, 0.95);
  const auto after_averaged = torch::randn({4});
  EXPECT_TRUE(torch::equal(after_plain, after_averaged));
  EXPECT_EQ(max_difference(plain.flow->parameters(), averaged.flow->parameters()), 0.0);
  EXPECT_EQ(max_difference(plain.energy->parameters(), averaged.energy->parameters()), 0.0);
  auto q = std::dynamic_pointer_cast<en::TiltedEnergyImpl>(averaged.proxy);
  ASSERT_TRUE(q);
  EXPECT_EQ(theta_bar(*q).size(), averaged.flow->parameters().size());
  EXPECT_TRUE(theta_bar(*std::dynamic_pointer_cast<en::TiltedEnergyImpl>(plain.proxy)).empty());
}
