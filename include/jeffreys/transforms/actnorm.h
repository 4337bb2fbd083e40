#pragma once
/// Activation normalisation (Kingma & Dhariwal, Glow, 2018, arXiv:1807.03039): a per-feature affine
/// map z = x * exp(log_scale) + shift whose parameters are set from the first data batch it sees in
/// the x -> z direction, so that batch leaves it with zero mean and unit variance.
#include "jeffreys/transforms/transform.h"

namespace jeffreys::transforms {

class ActNormImpl : public TransformImpl {
 public:
  explicit ActNormImpl(int64_t features);
  TransformResult forward(const torch::Tensor& x, const torch::Tensor& context = {}) override;
  TransformResult inverse(const torch::Tensor& z, const torch::Tensor& context = {}) override;
  bool initialized() const;

  torch::Tensor log_scale, shift;
  /// 0 until data-initialised; a buffer so that checkpoints keep it.
  torch::Tensor initialized_flag;
};

}  // namespace jeffreys::transforms
