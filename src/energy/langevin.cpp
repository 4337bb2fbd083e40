#include "jeffreys/energy/langevin.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

namespace jeffreys::energy {

torch::Tensor langevin(EnergyImpl& energy, const torch::Tensor& start, int64_t steps, double step_size,
                       at::Generator generator) {
  if (steps < 0 || !(step_size > 0)) throw std::invalid_argument("langevin: steps >= 0 and step_size > 0 required");
  const double noise = std::sqrt(2.0 * step_size);
  auto x = start.detach().clone();
  for (int64_t t = 0; t < steps; ++t) {
    auto xg = x.detach().requires_grad_(true);
    // Summing per-point energies gives each point its own gradient: the points do not interact.
    auto grad = torch::autograd::grad({energy.energy(xg).sum()}, {xg})[0];
    {
      torch::NoGradGuard g;
      x = xg.detach() - step_size * grad + noise * at::normal(0.0, 1.0, x.sizes(), generator, x.options());
    }
    if (!torch::isfinite(x).all().item<bool>())
      throw std::runtime_error("langevin: a point is no longer finite after step " + std::to_string(t + 1) +
                               "; lower the step size");
  }
  return x;
}

}  // namespace jeffreys::energy

namespace jeffreys::energy {
namespace {

/// log π(x) and ∇log π(x), both detached; the gradient is zero where π(x) = 0 (such a proposal is
/// rejected whatever it is).
std::pair<torch::Tensor, torch::Tensor> value_and_gradient(const LogDensity& log_density, const torch::Tensor& x) {
  torch::AutoGradMode enable(true);
  auto xg = x.detach().requires_grad_(true);
  auto lp = log_density(xg);
  if (lp.dim() != 1 || lp.size(0) != x.size(0))
    throw std::invalid_argument("mala: the log-density must return one value per row");
  auto finite = torch::isfinite(lp);
  auto summed = torch::where(finite, lp, torch::zeros_like(lp)).sum();
  torch::Tensor grad;
  if (summed.requires_grad())
    grad = torch::autograd::grad({summed}, {xg}, /*grad_outputs=*/{}, /*retain_graph=*/false,
                                 /*create_graph=*/false, /*allow_unused=*/true)[0];
  if (!grad.defined()) grad = torch::zeros_like(x);
  return {lp.detach(), torch::nan_to_num(grad.detach(), 0.0, 0.0, 0.0)};
}

}  // namespace

MalaResult mala(const LogDensity& log_density, const torch::Tensor& start, const MalaOptions& o,
                at::Generator generator) {
  if (o.steps() < 0 || !(o.step_size() > 0) || o.adapt_steps() < -1 || !(o.target_acceptance() > 0) ||
      !(o.target_acceptance() < 1))
    throw std::invalid_argument("mala: steps >= 0, step_size > 0, adapt_steps >= -1 and 0 < target_acceptance < 1 required");
  if (start.dim() != 2) throw std::invalid_argument("mala: start must be [N, d]");
  const int64_t adapt = o.adapt_steps() < 0 ? o.steps() / 2 : std::min(o.adapt_steps(), o.steps());
  auto x = start.detach().clone();
  auto [lp, grad] = value_and_gradient(log_density, x);
  if (!torch::isfinite(lp).all().item<bool>())
    throw std::invalid_argument("mala: a start point has zero density (or a non-finite log-density)");
  double eps = o.step_size();
  double accepted = 0, accepted_all = 0;
  int64_t counted = 0;
  torch::NoGradGuard no_grad;
  for (int64_t t = 0; t < o.steps(); ++t) {
    auto mean_x = x + eps * grad;
    auto y = mean_x + std::sqrt(2.0 * eps) * at::normal(0.0, 1.0, x.sizes(), generator, x.options());
    auto [lp_y, grad_y] = value_and_gradient(log_density, y);
    auto mean_y = y + eps * grad_y;
    // log q(x | y) − log q(y | x) for the Gaussian proposals N(mean, 2ε I).
    auto log_q_ratio = ((y - mean_x).pow(2).sum(1) - (x - mean_y).pow(2).sum(1)) / (4.0 * eps);
    auto log_alpha = lp_y - lp + log_q_ratio;
    auto log_u = at::empty({x.size(0)}, x.options()).uniform_(0.0, 1.0, generator).log();
    // A proposal of zero density (or a NaN ratio) is rejected: the comparison is false.
    auto accept = torch::isfinite(lp_y) & (log_u < log_alpha);
    auto a = accept.unsqueeze(1);
    x = torch::where(a, y, x);
    grad = torch::where(a, grad_y, grad);
    lp = torch::where(accept, lp_y, lp);
    const double rate = accept.to(torch::kDouble).mean().item<double>();
    accepted_all += rate;
    if (t < adapt) {
      eps *= std::exp(rate - o.target_acceptance());
    } else {
      accepted += rate;
      ++counted;
    }
  }
  MalaResult r;
  r.x = x;
  r.step_size = eps;
  r.acceptance = counted > 0       ? accepted / static_cast<double>(counted)
                 : o.steps() > 0 ? accepted_all / static_cast<double>(o.steps())
                                 : std::numeric_limits<double>::quiet_NaN();
  return r;
}

}  // namespace jeffreys::energy
