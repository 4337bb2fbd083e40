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
///
/// With a moving average (method suffix -T<d>, d in (0, 1)), θ̄ is a slowly moving copy of the flow
/// instead of the flow itself: θ̄ is the flow until its first step, then θ̄_1 = θ_1 and
/// θ̄_t = d θ̄_(t-1) + (1 - d) θ_t after every step t (the flow's buffers — ActNorm's state,
/// permutations — are the flow's own). The proxy's base then does not move with every step of θ,
/// so ψ learns a correction to a slowly moving target (as in mean-teacher and target networks).
/// θ̄ is saved with the proxy (its buffers), so a checkpoint resumes it.
#include <torch/types.h>

#include "jeffreys/energy/energy.h"
#include "jeffreys/flows/flow.h"

namespace jeffreys::energy {

class TiltedEnergyImpl : public EnergyImpl {
 public:
  /// `tilt` is E_ψ (its parameters are this module's); `flow` is the main model, not registered
  /// here, so parameters() cover E_ψ alone. With `average` (a flow of the same architecture, on the
  /// same device; its parameters become this module's buffers θ̄, frozen) θ̄ moves by `decay` in
  /// [0, 1) at every flow_stepped().
  TiltedEnergyImpl(EnergyPtr tilt, flows::Flow flow, flows::Flow average = nullptr, double decay = 0);
  torch::Tensor energy(const torch::Tensor& x, const torch::Tensor& context = {}) override;
  torch::Tensor energy_per_context(const torch::Tensor& x, const torch::Tensor& context) override;
  int64_t features() const override { return tilt_->features(); }
  int64_t context_features() const override { return tilt_->context_features(); }
  EnergyPtr tilt() const { return tilt_; }
  /// θ̄ ← decay θ̄ + (1 - decay) θ (the first call copies θ); nothing without a moving average.
  void flow_stepped() override;
  /// The flow steps θ̄ has followed (0 without a moving average, or before the first step).
  int64_t average_steps() const;

 private:
  /// log p_θ̄(x | c): the flow's log-density with the gradient to its parameters stopped, the one
  /// through x kept.
  torch::Tensor base_log_prob(const torch::Tensor& x, const torch::Tensor& context);
  EnergyPtr tilt_;
  flows::Flow flow_;
  flows::Flow average_{nullptr};
  double decay_ = 0;
  torch::Tensor steps_;  ///< buffer: flow steps averaged so far (saved, so resume keeps it)
};

}  // namespace jeffreys::energy
