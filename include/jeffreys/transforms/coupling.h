#pragma once
/// Coupling transform (Dinh et al., RealNVP, 2016, arXiv:1605.08803; with a spline, Durkan et al.,
/// NSF, 2019, arXiv:1906.04032): one block of features conditions an element-wise map of the other.
#include <torch/arg.h>

#include "jeffreys/nn/mlp.h"
#include "jeffreys/transforms/elementwise.h"

namespace jeffreys::transforms {

struct CouplingOptions {
  explicit CouplingOptions(int64_t features) : features_(features) {}
  TORCH_ARG(int64_t, features);
  TORCH_ARG(int64_t, context_features) = 0;
  /// false: the first floor(D/2) features condition the rest; true: the last ceil(D/2) condition the first.
  TORCH_ARG(bool, swap) = false;
  TORCH_ARG(Elementwise, elementwise) = {};
  TORCH_ARG(int64_t, hidden) = 128;
  TORCH_ARG(int64_t, depth) = 2;
  TORCH_ARG(nn::Activation, activation) = nn::Activation::silu;
  TORCH_ARG(bool, zero_init) = false;
};

class CouplingImpl : public TransformImpl {
 public:
  explicit CouplingImpl(CouplingOptions options);
  TransformResult forward(const torch::Tensor& x, const torch::Tensor& context = {}) override;
  TransformResult inverse(const torch::Tensor& z, const torch::Tensor& context = {}) override;

  CouplingOptions options;
  nn::MLP conditioner{nullptr};

 private:
  TransformResult apply(const torch::Tensor& v, const torch::Tensor& context, bool inverse);
  int64_t id_start_, id_size_, tr_start_, tr_size_;
};

}  // namespace jeffreys::transforms
