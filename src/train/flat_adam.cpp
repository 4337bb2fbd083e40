#include "jeffreys/train/flat_adam.h"

#include "core/kernels.h"

#include <torch/torch.h>

#include <cmath>

namespace jeffreys::train {

FlatParameters::FlatParameters(const std::vector<torch::Tensor>& params) : params_(params) {
  int64_t total = 0;
  for (const auto& p : params_) total += p.numel();
  if (params_.empty()) return;
  const auto opts = params_.front().options().requires_grad(false);
  torch::NoGradGuard g;
  values_ = torch::empty({total}, opts);
  grads_ = torch::zeros({total}, opts);
  int64_t off = 0;
  for (auto& p : params_) {
    TORCH_CHECK(p.dtype() == opts.dtype() && p.device() == opts.device(),
                "FlatParameters: all parameters must share dtype and device");
    const int64_t n = p.numel();
    auto v = values_.narrow(0, off, n);
    v.copy_(p.detach().reshape({-1}));
    p.set_data(v.view(p.sizes()));
    p.mutable_grad() = grads_.narrow(0, off, n).view(p.sizes());
    off += n;
  }
}

void FlatParameters::zero_grad() {
  if (grads_.defined()) grads_.zero_();
}

bool FlatParameters::intact() const {
  const auto* base = values_.defined() ? static_cast<const char*>(values_.data_ptr()) : nullptr;
  int64_t off = 0;
  for (const auto& p : params_) {
    if (p.data_ptr() != base + off * values_.element_size()) return false;
    if (!p.grad().defined() || p.grad().data_ptr() != static_cast<const char*>(grads_.data_ptr()) + off * grads_.element_size())
      return false;
    off += p.numel();
  }
  return true;
}

FlatAdam::FlatAdam(FlatParameters* params, AdamOptions options) : params_(params), options_(options) {
  TORCH_CHECK(options.lr >= 0, "Adam: invalid learning rate ", options.lr);
  TORCH_CHECK(options.beta1 >= 0 && options.beta1 < 1, "Adam: invalid beta1 ", options.beta1);
  TORCH_CHECK(options.beta2 >= 0 && options.beta2 < 1, "Adam: invalid beta2 ", options.beta2);
  TORCH_CHECK(options.eps >= 0, "Adam: invalid eps ", options.eps);
  TORCH_CHECK(options.weight_decay >= 0, "Adam: invalid weight_decay ", options.weight_decay);
  if (params_->numel() > 0) {
    exp_avg = torch::zeros_like(params_->values());
    exp_avg_sq = torch::zeros_like(params_->values());
  }
}

void FlatAdam::step(double lr) {
  if (params_ == nullptr || params_->numel() == 0) return;
  torch::NoGradGuard g;
  auto& p = params_->values();
  const auto& grad = params_->grads();
  ++step_count;
  const double bc1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step_count));
  const double bc2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step_count));
  if (p.device().is_cpu()) {
    AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "flat_adam", [&] {
      core::adam_step(p.data_ptr<scalar_t>(), grad.data_ptr<scalar_t>(), exp_avg.data_ptr<scalar_t>(),
                            exp_avg_sq.data_ptr<scalar_t>(), p.numel(), static_cast<scalar_t>(options_.beta1),
                            static_cast<scalar_t>(options_.beta2), static_cast<scalar_t>(options_.eps),
                            static_cast<scalar_t>(options_.weight_decay), static_cast<scalar_t>(lr / bc1),
                            static_cast<scalar_t>(1.0 / std::sqrt(bc2)));
    });
    return;
  }
  torch::Tensor gr = options_.weight_decay != 0 ? grad.add(p, options_.weight_decay) : grad;
  exp_avg.lerp_(gr, 1.0 - options_.beta1);
  exp_avg_sq.mul_(options_.beta2).addcmul_(gr, gr, 1.0 - options_.beta2);
  auto denom = (exp_avg_sq.sqrt() / std::sqrt(bc2)).add_(options_.eps);
  p.addcdiv_(exp_avg, denom, -lr / bc1);
}

}  // namespace jeffreys::train
