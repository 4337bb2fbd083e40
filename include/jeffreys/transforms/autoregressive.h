#pragma once
/// Masked autoregressive transform (Papamakarios et al., MAF, 2017, arXiv:1705.07057): a MADE gives
/// each feature's element-wise map from the features before it. Density (x -> z) is one pass;
/// sampling (z -> x) takes `features` passes, each fixing one more feature.
#include <torch/arg.h>

#include "jeffreys/nn/made.h"
#include "jeffreys/transforms/elementwise.h"

namespace jeffreys::transforms {

struct AutoregressiveOptions {
  explicit AutoregressiveOptions(int64_t features) : features_(features) {}
  TORCH_ARG(int64_t, features);
  TORCH_ARG(int64_t, context_features) = 0;
  TORCH_ARG(Elementwise, elementwise) = {};
  TORCH_ARG(int64_t, hidden) = 128;
  TORCH_ARG(int64_t, depth) = 2;
  TORCH_ARG(nn::Activation, activation) = nn::Activation::silu;
  TORCH_ARG(bool, zero_init) = false;
  /// Autoregressive order (1-based positions); empty = natural order.
  TORCH_ARG(std::vector<int64_t>, order) = {};
};

class AutoregressiveImpl : public TransformImpl {
 public:
  explicit AutoregressiveImpl(AutoregressiveOptions options);
  TransformResult forward(const torch::Tensor& x, const torch::Tensor& context = {}) override;
  TransformResult inverse(const torch::Tensor& z, const torch::Tensor& context = {}) override;

  AutoregressiveOptions options;
  nn::MADE made{nullptr};
};

}  // namespace jeffreys::transforms
