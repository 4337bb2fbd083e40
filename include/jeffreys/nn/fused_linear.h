#pragma once
/// Linear layer and activation as one autograd node: y = act(x Wᵀ + b). For SiLU on float32 CPU
/// tensors the activation and its derivative come from one vectorised pass whose derivative is
/// saved for backward, which replaces three autograd nodes and two passes over the activations; with
/// at most 4 inputs the product is formed in that pass too, and its backward needs no BLAS.
/// Other activations, dtypes and devices fall back to LibTorch's own operators (same mathematics).
#include <torch/types.h>

#include "jeffreys/nn/activation.h"

namespace jeffreys::nn {

/// act(x Wᵀ + b) with `x` [B, in], `weight` [out, in], `bias` [out]. `fused` = false always takes
/// LibTorch's operators (needed where the result is differentiated twice).
torch::Tensor linear_activation(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                Activation activation, bool fused = true);

/// x Wᵀ + b. With `fused` and at most 4 outputs (float32 CPU), one autograd node of plain loops: an
/// MLP's last layer, where a BLAS call costs more than its arithmetic. Otherwise LibTorch's addmm.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, bool fused = true);

/// SiLU and its derivative in one pass (float32, contiguous): y = x σ(x), d = σ(x)(1 + x(1 - σ(x))).
/// Exposed for tests; σ uses a polynomial exp accurate to a few ulp.
void silu_and_derivative(const float* x, float* y, float* d, int64_t n);
/// The same on x + bias for a row-major [rows, cols] x and a [cols] bias.
void bias_silu_and_derivative(const float* x, const float* bias, float* y, float* d, int64_t rows, int64_t cols);

}  // namespace jeffreys::nn
