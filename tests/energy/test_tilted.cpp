// The tilted proxy q ∝ p_θ̄ exp(-E_ψ): exact values when the tilt is constant, and METHOD.md's
// gradient rules with θ̄ detached — R's gradient to θ equals finite differences of R with a frozen
// copy of the flow as θ̄.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "jeffreys/divergence/terms.h"
#include "jeffreys/energy/energy.h"
#include "jeffreys/energy/tilted.h"
#include "jeffreys/flows/presets.h"

namespace dv = jeffreys::divergence;
namespace fl = jeffreys::flows;
namespace en = jeffreys::energy;

namespace {
const auto kD = torch::TensorOptions().dtype(torch::kDouble);

fl::Flow make_flow(int64_t context = 0) {
  torch::manual_seed(5);
  auto f = fl::make_flow(fl::FlowOptions(2).layers(2).hidden(16).context_features(context));
  f->to(torch::kDouble);
  return f;
}

std::shared_ptr<en::MLPEnergyImpl> make_energy(int64_t context = 0) {
  torch::manual_seed(6);
  auto e = std::make_shared<en::MLPEnergyImpl>(en::MLPEnergyOptions(2).hidden(16).context_features(context));
  e->to(torch::kDouble);
  return e;
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
  auto grads = torch::autograd::grad({t.R}, theta, {}, false, false, true);
  int checked = 0;
  for (size_t k = 0; k < theta.size() && checked < 6; k += 3) {
    auto flat = theta[k].view(-1);
    for (int64_t i = 0; i < std::min<int64_t>(2, flat.numel()); ++i, ++checked) {
      const double h = 1e-6;
      torch::NoGradGuard g;
      const double keep = flat[i].item<double>();
      flat[i] = keep + h;
      const double up = terms(q_frozen.get()).R_samples.item<double>();
      flat[i] = keep - h;
      const double down = terms(q_frozen.get()).R_samples.item<double>();
      flat[i] = keep;
      const double analytic = grads[k].defined() ? grads[k].view(-1)[i].item<double>() : 0.0;
      EXPECT_NEAR(analytic, (up - down) / (2 * h), 1e-5 * (1 + std::abs(analytic))) << "θ[" << k << "][" << i << "]";
    }
  }
  EXPECT_GE(checked, 4);
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
