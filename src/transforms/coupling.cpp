#include "jeffreys/transforms/coupling.h"

#include <torch/torch.h>

#include "jeffreys/functional/affine.h"

namespace jeffreys::transforms {

CouplingImpl::CouplingImpl(CouplingOptions options_) : options(std::move(options_)) {
  const int64_t D = options.features();
  TORCH_CHECK(D >= 2, "Coupling: needs features >= 2, got ", D);
  const int64_t half = D / 2;
  // Conditioning block and transformed block are contiguous slices, so both are views (no copies).
  if (!options.swap()) {
    id_start_ = 0, id_size_ = half, tr_start_ = half, tr_size_ = D - half;
  } else {
    id_start_ = half, id_size_ = D - half, tr_start_ = 0, tr_size_ = half;
  }
  conditioner = register_module(
      "conditioner", nn::MLP(nn::MLPOptions(id_size_, tr_size_ * options.elementwise().params_per_dim())
                                 .hidden(options.hidden())
                                 .depth(options.depth())
                                 .context_features(options.context_features())
                                 .activation(options.activation())
                                 .zero_last(options.zero_init())));
}

TransformResult CouplingImpl::apply(const torch::Tensor& v, const torch::Tensor& context, bool inverse) {
  auto id = v.narrow(-1, id_start_, id_size_);
  auto params = conditioner->forward(id, context);
  const auto& ew = options.elementwise();
  // The fused CPU node for the common case; the composite path below is the same mathematics.
  if (ew.kind == ElementwiseKind::affine && v.device().is_cpu() && v.scalar_type() == params.scalar_type())
    return functional::affine_coupling(v, params, tr_start_, tr_size_, ew.scale_clamp, inverse);
  auto [out, lad] = inverse ? ew.inverse(v.narrow(-1, tr_start_, tr_size_), params)
                            : ew.forward(v.narrow(-1, tr_start_, tr_size_), params);
  auto joined = options.swap() ? torch::cat({out, id}, -1) : torch::cat({id, out}, -1);
  return {joined, lad};
}

TransformResult CouplingImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
  return apply(x, context, false);
}

TransformResult CouplingImpl::inverse(const torch::Tensor& z, const torch::Tensor& context) {
  return apply(z, context, true);
}

}  // namespace jeffreys::transforms
