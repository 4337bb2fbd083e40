#include "jeffreys/transforms/elementwise.h"

#include <torch/torch.h>

#include <stdexcept>

#include "jeffreys/functional/affine.h"

namespace jeffreys::transforms {

int64_t Elementwise::params_per_dim() const {
  return kind == ElementwiseKind::affine ? functional::affine_params_per_dim
                                         : functional::spline_params_per_dim(spline);
}

namespace {
// [B, P*d] parameter-major -> [B, d, P], what the spline maths expects.
torch::Tensor per_dim(const torch::Tensor& params, int64_t d) {
  return params.view({params.size(0), -1, d}).transpose(1, 2);
}
}  // namespace

TransformResult Elementwise::forward(const torch::Tensor& x, const torch::Tensor& params) const {
  const int64_t d = x.size(-1);
  if (kind == ElementwiseKind::affine) {
    auto [z, lad] = functional::affine_forward(x, params.narrow(-1, 0, d), params.narrow(-1, d, d), scale_clamp);
    return {z, lad.sum(-1)};
  }
  auto [z, lad] = functional::rq_spline_forward(x, per_dim(params, d), spline);
  return {z, lad.sum(-1)};
}

TransformResult Elementwise::inverse(const torch::Tensor& z, const torch::Tensor& params) const {
  const int64_t d = z.size(-1);
  if (kind == ElementwiseKind::affine) {
    auto [x, lad] = functional::affine_inverse(z, params.narrow(-1, 0, d), params.narrow(-1, d, d), scale_clamp);
    return {x, lad.sum(-1)};
  }
  auto [x, lad] = functional::rq_spline_inverse(z, per_dim(params, d), spline);
  return {x, lad.sum(-1)};
}

ElementwiseKind elementwise_from_string(const std::string& name) {
  if (name == "affine") return ElementwiseKind::affine;
  if (name == "spline" || name == "rational_quadratic") return ElementwiseKind::rational_quadratic;
  throw std::invalid_argument("unknown element-wise transform '" + name + "' (choose affine, spline)");
}

}  // namespace jeffreys::transforms
