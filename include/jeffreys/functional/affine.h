#pragma once
/// Element-wise affine map z = x * exp(s) + t with a soft-clamped log-scale (RealNVP, Dinh et al. 2016,
/// arXiv:1605.08803): stateless maths for affine coupling and autoregressive transforms.
#include <torch/types.h>

#include <utility>

namespace jeffreys::functional {

/// Unconstrained parameters per transformed dimension: raw log-scale and shift.
inline constexpr int64_t affine_params_per_dim = 2;

/// s = clamp * tanh(raw / clamp) bounds each layer's scale to exp(±clamp) (clamp <= 0 disables it).
/// `x`: [..., d]; `raw_log_scale`, `shift`: [..., d]. Returns {z, log|dz/dx|} element-wise.
std::pair<torch::Tensor, torch::Tensor> affine_forward(const torch::Tensor& x, const torch::Tensor& raw_log_scale,
                                                       const torch::Tensor& shift, double clamp);

/// Inverse x = (z - t) * exp(-s). Returns {x, log|dx/dz|}.
std::pair<torch::Tensor, torch::Tensor> affine_inverse(const torch::Tensor& z, const torch::Tensor& raw_log_scale,
                                                       const torch::Tensor& shift, double clamp);

}  // namespace jeffreys::functional

namespace jeffreys::functional {

/// One affine coupling step on the whole feature vector, as a single autograd node: features
/// [tr_start, tr_start + tr_size) of `v` go through the affine map (or its inverse) with
/// `params` = [raw log-scale | shift] ([B, 2 * tr_size]); the others are copied. Returns
/// {out [B, D], log|det| [B]}. Same mathematics as affine_forward/affine_inverse plus the cat, in
/// one pass forward and one backward. CPU tensors of one dtype only.
std::pair<torch::Tensor, torch::Tensor> affine_coupling(const torch::Tensor& v, const torch::Tensor& params,
                                                        int64_t tr_start, int64_t tr_size, double clamp, bool inverse);

}  // namespace jeffreys::functional
