#include "jeffreys/transforms/actnorm.h"

#include <torch/torch.h>

namespace jeffreys::transforms {

ActNormImpl::ActNormImpl(int64_t features) {
  TORCH_CHECK(features >= 1, "ActNorm: features must be >= 1");
  log_scale = register_parameter("log_scale", torch::zeros({features}));
  shift = register_parameter("shift", torch::zeros({features}));
  initialized_flag = register_buffer("initialized", torch::zeros({1}));
}

bool ActNormImpl::initialized() const { return initialized_flag.item<double>() != 0.0; }

TransformResult ActNormImpl::forward(const torch::Tensor& x, const torch::Tensor&) {
  if (is_training() && !initialized() && x.size(0) > 1) {
    torch::NoGradGuard no_grad;
    auto mean = x.mean(0);
    auto std = x.std(0).clamp_min(1e-6);
    // In place: parameters may be views into a flat optimiser buffer.
    log_scale.copy_(-torch::log(std));
    shift.copy_(-mean / std);
    initialized_flag.fill_(1.0);
  }
  auto z = torch::addcmul(shift, x, torch::exp(log_scale));
  return {z, log_scale.sum().expand({x.size(0)})};
}

TransformResult ActNormImpl::inverse(const torch::Tensor& z, const torch::Tensor&) {
  auto x = (z - shift) * torch::exp(-log_scale);
  return {x, (-log_scale.sum()).expand({z.size(0)})};
}

}  // namespace jeffreys::transforms
