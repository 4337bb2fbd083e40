#pragma once
// Internal CPU kernels on raw, contiguous, row-major buffers (see kernels.cpp).
#include <cstdint>

namespace jeffreys::core {

/// y = x σ(x), d = σ(x)(1 + x(1 - σ(x))) for n floats.
void silu_and_derivative(const float* x, float* y, float* d, int64_t n);
/// The same on x + bias, x [rows, cols], bias [cols] (or null: on x); y may be x.
void bias_silu_and_derivative(const float* x, const float* bias, float* y, float* d, int64_t rows, int64_t cols);
/// Inputs and outputs up to which a Linear layer is done by the loops below instead of BLAS.
constexpr int64_t kSmallIn = 4;
constexpr int64_t kSmallOut = 4;
/// silu(x wᵀ + b) and its derivative d, with x [rows, k] (k <= kSmallIn; row r at x + r * x_stride),
/// wt = wᵀ [k, cols], bias [cols].
void small_in_bias_silu(const float* x, int64_t x_stride, int64_t k, const float* wt, const float* bias, float* y,
                        float* d, int64_t rows, int64_t cols);
/// Its backward from go [rows, cols]: gx [rows, k] = (go * d) w (written), gwt [k, cols] += xᵀ (go * d),
/// gb += column sums of go * d; any of the three may be null.
void small_in_silu_backward(const float* go, const float* d, const float* x, int64_t x_stride, int64_t k,
                            const float* wt, float* gx, float* gwt, float* gb, int64_t rows, int64_t cols);
/// y [rows, n] = x wᵀ + b with x [rows, in], w [n, in], n <= kSmallOut.
void narrow_linear(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t in, int64_t n);
/// Its backward from g [rows, n]: gx = g w (written), gw += gᵀ x, gb += column sums of g; any may be null.
void narrow_linear_backward(const float* g, const float* x, const float* w, float* gx, float* gw, float* gb,
                            int64_t rows, int64_t in, int64_t n);
/// g = go * d and gb += column sums of g.
void silu_grad_and_bias_grad(const float* go, const float* d, float* g, float* gb, int64_t rows, int64_t cols);
/// torch.optim.Adam's update of p (with L2 weight decay) from gradient g and moments m, v.
void adam_step(float* p, const float* g, float* m, float* v, int64_t n, float beta1, float beta2, float eps,
               float weight_decay, float step_size, float inv_sqrt_bc2);
void adam_step(double* p, const double* g, double* m, double* v, int64_t n, double beta1, double beta2, double eps,
               double weight_decay, double step_size, double inv_sqrt_bc2);

}  // namespace jeffreys::core
