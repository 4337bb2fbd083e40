#pragma once
/// Unadjusted Langevin dynamics on the energy model's density exp(-E): a few steps from flow
/// samples move them towards the proxy, showing what the energy model adds to the flow.
#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>

#include "jeffreys/energy/energy.h"

namespace jeffreys::energy {

/// x ← x − ε ∇E(x) + √(2ε) ξ, `steps` times from `start` [N, d] (ε = `step_size`, ξ ~ N(0, I)).
/// Returns the final points (no gradient). Throws std::runtime_error if a point stops being finite.
torch::Tensor langevin(EnergyImpl& energy, const torch::Tensor& start, int64_t steps, double step_size,
                       at::Generator generator);

}  // namespace jeffreys::energy
