#pragma once
// Internal CPU kernels on raw, contiguous, row-major buffers (see kernels.cpp).
#include <cstdint>

namespace jeffreys::core {

/// y = x σ(x), d = σ(x)(1 + x(1 - σ(x))) for n floats.
void silu_and_derivative(const float* x, float* y, float* d, int64_t n);
/// The same on x + bias, x [rows, cols], bias [cols].
void bias_silu_and_derivative(const float* x, const float* bias, float* y, float* d, int64_t rows, int64_t cols);
/// g = go * d and gb += column sums of g.
void silu_grad_and_bias_grad(const float* go, const float* d, float* g, float* gb, int64_t rows, int64_t cols);
/// torch.optim.Adam's update of p (with L2 weight decay) from gradient g and moments m, v.
void adam_step(float* p, const float* g, float* m, float* v, int64_t n, float beta1, float beta2, float eps,
               float weight_decay, float step_size, float inv_sqrt_bc2);
void adam_step(double* p, const double* g, double* m, double* v, int64_t n, double beta1, double beta2, double eps,
               double weight_decay, double step_size, double inv_sqrt_bc2);

}  // namespace jeffreys::core
