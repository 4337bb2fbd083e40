#include "jeffreys/energy/tilted.h"

#include <torch/torch.h>

namespace jeffreys::energy {

TiltedEnergyImpl::TiltedEnergyImpl(EnergyPtr tilt, flows::Flow flow)
    : tilt_(register_module("tilt", std::move(tilt))), flow_(std::move(flow)) {
  TORCH_CHECK(flow_->features() == tilt_->features(), "TiltedEnergy: the flow has ", flow_->features(),
              " features, the energy ", tilt_->features());
  TORCH_CHECK(flow_->context_features() == tilt_->context_features(), "TiltedEnergy: the flow has ",
              flow_->context_features(), " context features, the energy ", tilt_->context_features());
}

torch::Tensor TiltedEnergyImpl::base_log_prob(const torch::Tensor& x, const torch::Tensor& context) {
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
