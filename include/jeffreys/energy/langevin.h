#pragma once
/// Langevin dynamics on the energy model's density exp(-E): unadjusted steps from flow samples move
/// them towards the proxy (what the energy model adds to the flow), and Metropolis-adjusted steps
/// (MALA) sample a density exactly, e.g. the SBI proxy's posterior after resampling from the flow.
#include <ATen/core/Generator.h>
#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>

#include "jeffreys/energy/energy.h"

namespace jeffreys::energy {

/// x ← x − ε ∇E(x) + √(2ε) ξ, `steps` times from `start` [N, d] (ε = `step_size`, ξ ~ N(0, I)).
/// Returns the final points (no gradient). Throws std::runtime_error if a point stops being finite.
torch::Tensor langevin(EnergyImpl& energy, const torch::Tensor& start, int64_t steps, double step_size,
                       at::Generator generator);

/// An unnormalised log-density, differentiable in its input: [N, d] -> [N], −∞ where the density
/// is zero (outside a prior's support, say).
using LogDensity = std::function<torch::Tensor(const torch::Tensor&)>;

struct MalaOptions {
  TORCH_ARG(int64_t, steps) = 100;
  /// ε of the proposal y = x + ε ∇log π(x) + √(2ε) ξ; the initial value when adapting.
  TORCH_ARG(double, step_size) = 0.01;
  /// The first `adapt_steps` steps move log ε by (acceptance − target) each (burn-in: the chains'
  /// law is exact only once ε is fixed); -1: the first half of the steps, 0: ε fixed throughout.
  TORCH_ARG(int64_t, adapt_steps) = -1;
  /// 0.574: the optimal acceptance of MALA for high-dimensional product targets (Roberts & Rosenthal 1998).
  TORCH_ARG(double, target_acceptance) = 0.574;
};

struct MalaResult {
  torch::Tensor x;          ///< the chains' final states [N, d], no gradient
  double acceptance = 0;    ///< mean acceptance over the steps after adaptation (over all if every step adapted; NaN with no steps)
  double step_size = 0;     ///< ε of those steps
};

/// Metropolis-adjusted Langevin: N independent chains from `start` [N, d] (every row of positive
/// density), each step a Langevin proposal accepted with the Metropolis-Hastings probability, so
/// π is invariant for any ε (unlike `langevin`, whose stationary law is biased by O(ε)).
/// Throws std::invalid_argument on bad options or a start row of zero density.
MalaResult mala(const LogDensity& log_density, const torch::Tensor& start, const MalaOptions& options,
                at::Generator generator);

}  // namespace jeffreys::energy
