#include "jeffreys/energy/langevin.h"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

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
