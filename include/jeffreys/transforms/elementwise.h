#pragma once
/// The element-wise monotone maps that coupling and autoregressive transforms apply, chosen by value:
/// coupling/autoregressive layers compose a conditioner with one of these (zuko's `univariate`).
#include <torch/types.h>

#include <string>

#include "jeffreys/functional/rational_quadratic.h"
#include "jeffreys/transforms/transform.h"

namespace jeffreys::transforms {

enum class ElementwiseKind { affine, rational_quadratic };

struct Elementwise {
  ElementwiseKind kind = ElementwiseKind::affine;
  /// Affine only: log-scale soft clamp, s = c * tanh(raw / c); <= 0 disables it.
  double scale_clamp = 1.0;
  /// Spline only.
  functional::SplineShape spline{};

  int64_t params_per_dim() const;
  /// `params`: [B, P * d] laid out parameter-major. Returns {z, log|det|} with log|det| of shape [B].
  TransformResult forward(const torch::Tensor& x, const torch::Tensor& params) const;
  TransformResult inverse(const torch::Tensor& z, const torch::Tensor& params) const;
};

ElementwiseKind elementwise_from_string(const std::string& name);

}  // namespace jeffreys::transforms
