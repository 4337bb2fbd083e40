#pragma once
/// The bijection contract: every layer of a flow maps data x to noise z in `forward` and back in
/// `inverse`, and returns its log|det Jacobian| (shape [batch]) with the output, as zuko's call_and_ladj.
#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <utility>

namespace jeffreys::transforms {

/// {output, log|det d output / d input|} with the log-determinant of shape [batch].
using TransformResult = std::pair<torch::Tensor, torch::Tensor>;

class TransformImpl : public torch::nn::Module {
 public:
  /// x -> z (the normalising direction). `context`: [batch, context_features] or undefined.
  virtual TransformResult forward(const torch::Tensor& x, const torch::Tensor& context = {}) = 0;
  /// z -> x. Returns log|det dx/dz| = minus the forward log-determinant at x.
  virtual TransformResult inverse(const torch::Tensor& z, const torch::Tensor& context = {}) = 0;
};

using TransformPtr = std::shared_ptr<TransformImpl>;

}  // namespace jeffreys::transforms
