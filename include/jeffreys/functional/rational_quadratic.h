#pragma once
/// Monotonic rational-quadratic spline (Durkan et al., "Neural Spline Flows", 2019, arXiv:1906.04032)
/// on [-bound, bound] with identity ("linear") tails outside: stateless maths for spline transforms.
#include <torch/types.h>

#include <utility>

namespace jeffreys::functional {

/// Shape options of the spline; each default is written once, here.
struct SplineShape {
  int64_t bins = 8;
  double bound = 5.0;
  double min_bin_width = 1e-3;
  double min_bin_height = 1e-3;
  double min_derivative = 1e-3;
};

/// Unconstrained parameters per transformed dimension: `bins` widths, `bins` heights and
/// `bins - 1` interior knot derivatives (the two boundary derivatives are 1 so the tails join smoothly).
inline int64_t spline_params_per_dim(const SplineShape& s) { return 3 * s.bins - 1; }

/// Applies the spline element-wise. `x`: [..., d]; `params`: [..., d, 3*bins-1].
/// Returns {y, log|dy/dx|} with both of shape [..., d].
std::pair<torch::Tensor, torch::Tensor> rq_spline_forward(const torch::Tensor& x, const torch::Tensor& params,
                                                          const SplineShape& shape);

/// The exact inverse (solves the quadratic in closed form). Returns {x, log|dx/dy|}.
std::pair<torch::Tensor, torch::Tensor> rq_spline_inverse(const torch::Tensor& y, const torch::Tensor& params,
                                                          const SplineShape& shape);

/// The same two maps written as LibTorch tensor operations. rq_spline_forward/inverse use them on
/// other devices; on CPU they run a fused kernel (one pass forward, one backward) with the same
/// mathematics, and tests compare the two.
std::pair<torch::Tensor, torch::Tensor> rq_spline_forward_composite(const torch::Tensor& x,
                                                                    const torch::Tensor& params,
                                                                    const SplineShape& shape);
std::pair<torch::Tensor, torch::Tensor> rq_spline_inverse_composite(const torch::Tensor& y,
                                                                    const torch::Tensor& params,
                                                                    const SplineShape& shape);

}  // namespace jeffreys::functional
