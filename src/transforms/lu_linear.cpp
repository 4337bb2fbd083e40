#include "jeffreys/transforms/lu_linear.h"

#include <torch/torch.h>

namespace jeffreys::transforms {

LULinearImpl::LULinearImpl(int64_t features) {
  TORCH_CHECK(features >= 1, "LULinear: features must be >= 1");
  lower = register_parameter("lower", torch::zeros({features, features}));
  upper = register_parameter("upper", torch::zeros({features, features}));
  log_diag = register_parameter("log_diag", torch::zeros({features}));
  bias = register_parameter("bias", torch::zeros({features}));
}

torch::Tensor LULinearImpl::unit_lower() const {
  return torch::tril(lower, -1) + torch::eye(lower.size(0), lower.options());
}

torch::Tensor LULinearImpl::upper_with_diag() const {
  return torch::triu(upper, 1) + torch::diag(torch::exp(log_diag));
}

torch::Tensor LULinearImpl::weight() const { return torch::mm(unit_lower(), upper_with_diag()); }

TransformResult LULinearImpl::forward(const torch::Tensor& x, const torch::Tensor&) {
  auto z = torch::addmm(bias, x, weight().t());
  return {z, log_diag.sum().expand({x.size(0)})};
}

TransformResult LULinearImpl::inverse(const torch::Tensor& z, const torch::Tensor&) {
  // x^T = U^{-1} L^{-1} (z - b)^T
  auto rhs = (z - bias).t();
  auto y = torch::linalg_solve_triangular(unit_lower(), rhs, /*upper=*/false, /*left=*/true, /*unitriangular=*/true);
  auto x = torch::linalg_solve_triangular(upper_with_diag(), y, /*upper=*/true);
  return {x.t(), (-log_diag.sum()).expand({z.size(0)})};
}

}  // namespace jeffreys::transforms
