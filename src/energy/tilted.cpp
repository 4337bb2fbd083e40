#include "jeffreys/energy/tilted.h"

#include <torch/torch.h>

namespace jeffreys::energy {

TiltedEnergyImpl::TiltedEnergyImpl(EnergyPtr tilt, flows::Flow flow, flows::Flow average, double decay)
    : tilt_(register_module("tilt", std::move(tilt))), flow_(std::move(flow)), average_(std::move(average)), decay_(decay) {
  TORCH_CHECK(flow_->features() == tilt_->features(), "TiltedEnergy: the flow has ", flow_->features(),
              " features, the energy ", tilt_->features());
  TORCH_CHECK(flow_->context_features() == tilt_->context_features(), "TiltedEnergy: the flow has ",
              flow_->context_features(), " context features, the energy ", tilt_->context_features());
  if (!average_) return;
  TORCH_CHECK(decay >= 0 && decay < 1, "TiltedEnergy: the moving average's decay must be in [0, 1), not ", decay);
  auto bar = average_->parameters();
  const auto theta = flow_->parameters();
  TORCH_CHECK(bar.size() == theta.size(), "TiltedEnergy: the average has ", bar.size(), " parameter tensors, the flow ",
              theta.size());
  torch::NoGradGuard g;
  for (size_t i = 0; i < bar.size(); ++i) {
    TORCH_CHECK(bar[i].sizes() == theta[i].sizes(), "TiltedEnergy: the average's parameter ", i, " has shape ",
                bar[i].sizes(), ", the flow's ", theta[i].sizes());
    bar[i].requires_grad_(false);
    bar[i].copy_(theta[i]);
    register_buffer("theta_bar_" + std::to_string(i), bar[i]);
  }
  steps_ = register_buffer("theta_bar_steps", torch::zeros({1}, torch::kLong));
}

int64_t TiltedEnergyImpl::average_steps() const { return average_ ? steps_.item<int64_t>() : 0; }

void TiltedEnergyImpl::flow_stepped() {
  if (!average_) return;
  torch::NoGradGuard g;
  auto bar = average_->parameters();
  const auto theta = flow_->parameters();
  const bool first = steps_.item<int64_t>() == 0;
  for (size_t i = 0; i < bar.size(); ++i) {
    if (first)
      bar[i].copy_(theta[i]);
    else
      bar[i].mul_(decay_).add_(theta[i], 1 - decay_);
  }
  steps_.add_(1);
}

torch::Tensor TiltedEnergyImpl::base_log_prob(const torch::Tensor& x, const torch::Tensor& context) {
  if (average_steps() > 0) {
    {
      // The flow's buffers (ActNorm's initialisation flag and statistics, permutations) are the
      // average's too; copied before every use, so a resumed or freshly built average never
      // initialises ActNorm from its own input.
      torch::NoGradGuard g;
      auto mine = average_->buffers();
      const auto theirs = flow_->buffers();
      for (size_t i = 0; i < mine.size() && i < theirs.size(); ++i) {
        if (mine[i].sizes() == theirs[i].sizes())
          mine[i].copy_(theirs[i]);
        else
          mine[i].set_data(theirs[i].clone());
      }
    }
    // θ̄'s parameters take no gradient: only the path through x remains (and with an x that takes
    // none, autograd records nothing, so no no-grad branch is needed here).
    return average_->log_prob(x, context);
  }
  if (!x.requires_grad() || !torch::GradMode::is_enabled()) {
    torch::NoGradGuard g;
    return flow_->log_prob(x, context);
  }
  // a - b + b.detach() has a's value; its gradient to the flow's parameters is ∂a/∂θ - ∂b/∂θ, and
  // a and b are the same function at the same point, so only the path through x remains.
  auto a = flow_->log_prob(x, context);
  auto b = flow_->log_prob(x.detach(), context);
  return a - b + b.detach();
}

torch::Tensor TiltedEnergyImpl::energy(const torch::Tensor& x, const torch::Tensor& context) {
  return tilt_->energy(x, context) - base_log_prob(x, context);
}

torch::Tensor TiltedEnergyImpl::energy_per_context(const torch::Tensor& x, const torch::Tensor& context) {
  // The tilt's own per-context call checks the shapes (x [k*B, D], context [B, C]) first.
  auto e = tilt_->energy_per_context(x, context);
  const int64_t k = x.size(0) / context.size(0);
  return e - base_log_prob(x, k == 1 ? context : context.repeat({k, 1}));
}

}  // namespace jeffreys::energy
