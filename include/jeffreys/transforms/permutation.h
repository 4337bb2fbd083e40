#pragma once
/// A fixed permutation of the features (log-determinant 0), placed between coupling or
/// autoregressive layers so that every feature gets transformed and conditioned on.
#include <vector>

#include "jeffreys/transforms/transform.h"

namespace jeffreys::transforms {

class PermutationImpl : public TransformImpl {
 public:
  /// `perm[i]` is the input feature that becomes output feature i.
  explicit PermutationImpl(std::vector<int64_t> perm);
  /// Reverses the feature order.
  static std::shared_ptr<PermutationImpl> reversal(int64_t features);
  /// A uniformly random permutation drawn from `seed`.
  static std::shared_ptr<PermutationImpl> random(int64_t features, uint64_t seed);

  TransformResult forward(const torch::Tensor& x, const torch::Tensor& context = {}) override;
  TransformResult inverse(const torch::Tensor& z, const torch::Tensor& context = {}) override;

  /// Module::to(dtype) converts every buffer; the index buffers must stay int64 (a flow moved to
  /// double precision would otherwise fail in index_select).
  using torch::nn::Module::to;
  void to(torch::Device device, torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Dtype dtype, bool non_blocking = false) override;

  torch::Tensor perm, inverse_perm;
};

}  // namespace jeffreys::transforms
