#pragma once
/// A test energy with a known normaliser: E(x) = 0.5 ||(x - mu) / s||², log Z = D/2 log(2π) + Σ log s,
/// and a flow whose density is an exact Gaussian, N(mean, diag(std²)), for importance-sampling tests.
#include <torch/torch.h>

#include <cmath>
#include <memory>

#include "jeffreys/energy/energy.h"
#include "jeffreys/flows/flow.h"
#include "jeffreys/transforms/actnorm.h"

namespace jtest {

class GaussianEnergyImpl : public jeffreys::energy::EnergyImpl {
 public:
  GaussianEnergyImpl(const torch::Tensor& mu, const torch::Tensor& log_s) {
    this->mu = register_parameter("mu", mu.clone());
    this->log_s = register_parameter("log_s", log_s.clone());
  }
  torch::Tensor energy(const torch::Tensor& x, const torch::Tensor& context = {}) override {
    return 0.5 * ((x - mu) * torch::exp(-log_s)).square().sum(-1);
  }
  int64_t features() const override { return mu.size(0); }
  int64_t context_features() const override { return 0; }
  double true_log_z() const {
    return 0.5 * static_cast<double>(features()) * std::log(2 * M_PI) + log_s.sum().item<double>();
  }
  torch::Tensor mu, log_s;
};

/// A one-layer flow (an initialised ActNorm) with density N(mean, diag(std²)):
/// z = x exp(log_scale) + shift with exp(log_scale) = 1/std, shift = -mean/std.
inline jeffreys::flows::Flow gaussian_flow(const torch::Tensor& mean, const torch::Tensor& std) {
  const int64_t d = mean.size(0);
  auto an = std::make_shared<jeffreys::transforms::ActNormImpl>(d);
  jeffreys::flows::Flow flow(d, 0, std::vector<jeffreys::transforms::TransformPtr>{an});
  flow->to(mean.scalar_type());
  torch::NoGradGuard g;
  an->log_scale.copy_(-torch::log(std));
  an->shift.copy_(-mean / std);
  an->initialized_flag.fill_(1);
  return flow;
}

}  // namespace jtest
