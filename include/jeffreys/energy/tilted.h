#pragma once
/// A proxy that is as good as the flow from the start (issue 16, item 4): the energy model as a tilt
/// of the flow, q_ψ(x | c) ∝ p_θ̄(x | c) exp(-E_ψ(x, c)), i.e. the energy E_ψ(x, c) - log p_θ̄(x | c),
/// where θ̄ is the flow's current parameters with their gradient stopped. The importance weights
/// of log Ẑ under the flow's samples are then exp(-E_ψ) alone (balanced while E_ψ is small), so in
/// high dimension, where a plain energy network is nats worse than the flow and sampling-importance-
/// resampling degenerates, the proxy starts at the flow and learns only a correction.
///
/// Gradient rules (METHOD.md section 2, with θ̄ detached): P and log Ẑ reach ψ only; R reaches θ
/// through the reparameterised samples y, including through log p_θ̄(y) (its dependence on y, not on
/// θ̄'s parameters).
#include <torch/types.h>

#include "jeffreys/energy/energy.h"
#include "jeffreys/flows/flow.h"

namespace jeffreys::energy {

class TiltedEnergyImpl : public EnergyImpl {
 public:
  /// `tilt` is E_ψ (its parameters are this module's); `flow` is the main model, not registered
  /// here, so parameters(), save and load cover E_ψ alone.
  TiltedEnergyImpl(EnergyPtr tilt, flows::Flow flow);
  torch::Tensor energy(const torch::Tensor& x, const torch::Tensor& context = {}) override;
  torch::Tensor energy_per_context(const torch::Tensor& x, const torch::Tensor& context) override;
  int64_t features() const override { return tilt_->features(); }
  int64_t context_features() const override { return tilt_->context_features(); }
  EnergyPtr tilt() const { return tilt_; }

 private:
  /// log p_θ̄(x | c): the flow's log-density with the gradient to its parameters stopped, the one
  /// through x kept.
  torch::Tensor base_log_prob(const torch::Tensor& x, const torch::Tensor& context);
  EnergyPtr tilt_;
  flows::Flow flow_;
};

}  // namespace jeffreys::energy
