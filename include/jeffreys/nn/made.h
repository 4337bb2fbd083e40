#pragma once
/// Masked autoencoder for distribution estimation (MADE, Germain et al. 2015, arXiv:1502.03509):
/// an MLP whose masks make output parameters of feature i depend only on features before i.
#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "jeffreys/nn/activation.h"

namespace jeffreys::nn {

struct MADEOptions {
  MADEOptions(int64_t features, int64_t params_per_feature)
      : features_(features), params_per_feature_(params_per_feature) {}
  TORCH_ARG(int64_t, features);
  /// Outputs per feature, laid out parameter-major: output[:, p * features + i].
  TORCH_ARG(int64_t, params_per_feature);
  TORCH_ARG(int64_t, hidden) = 128;
  TORCH_ARG(int64_t, depth) = 2;
  TORCH_ARG(int64_t, context_features) = 0;
  TORCH_ARG(Activation, activation) = Activation::silu;
  TORCH_ARG(bool, zero_last) = false;
  /// Autoregressive order (1-based positions); empty = natural order.
  TORCH_ARG(std::vector<int64_t>, order) = {};
};

class MADEImpl : public torch::nn::Cloneable<MADEImpl> {
 public:
  explicit MADEImpl(MADEOptions options);
  void reset() override;
  /// `x`: [B, features]; `context`: [B, context_features] or undefined. Returns [B, P * features].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context = {});

  MADEOptions options;
  std::vector<torch::Tensor> weights, biases, masks;
};
TORCH_MODULE(MADE);

}  // namespace jeffreys::nn
