#pragma once
/// Invertible linear layer z = W x + b with W = L U (Kingma & Dhariwal, Glow, 2018,
/// arXiv:1807.03039): L unit lower-triangular, U upper-triangular with diagonal exp(log_diag), so
/// the log-determinant is sum(log_diag) and the inverse is two triangular solves.
#include "jeffreys/transforms/transform.h"

namespace jeffreys::transforms {

class LULinearImpl : public TransformImpl {
 public:
  /// Starts as the identity.
  explicit LULinearImpl(int64_t features);
  TransformResult forward(const torch::Tensor& x, const torch::Tensor& context = {}) override;
  TransformResult inverse(const torch::Tensor& z, const torch::Tensor& context = {}) override;
  /// The dense matrix W (for tests and inspection).
  torch::Tensor weight() const;

  torch::Tensor lower, upper, log_diag, bias;

 private:
  torch::Tensor unit_lower() const;
  torch::Tensor upper_with_diag() const;
};

}  // namespace jeffreys::transforms
