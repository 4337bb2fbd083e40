// Hand-written CPU kernels on raw pointers: the SiLU activation pass, its backward with the bias
// gradient, and Adam's update. Compiled without LibTorch's headers and with -fno-math-errno so that
// exp and sqrt vectorise; each dispatches on the running CPU's instruction set.
#include "kernels.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "vector.h"

namespace jeffreys::core {
namespace {

// SiLU and its derivative on a vector of floats.
template <typename VF, typename VI>
__attribute__((always_inline)) inline void silu_vector(VF v, float* y, float* d) {
  const VF s = 1.0f / (1.0f + exp_vector<VF, VI>(-v));
  const VF ys = v * s;
  const VF ds = s * (1.0f + v * (1.0f - s));
  std::memcpy(y, &ys, sizeof(ys));
  std::memcpy(d, &ds, sizeof(ds));
}

inline void silu_scalar(float v, float* y, float* d) {
  const float s = 1.0f / (1.0f + std::exp(-v));
  *y = v * s;
  *d = s * (1.0f + v * (1.0f - s));
}

// SiLU of x + bias over rows (bias == nullptr: of x); y may be x itself.
template <typename VF, typename VI>
__attribute__((always_inline)) inline void bias_silu_body(const float* x, const float* bias, float* y, float* d,
                                                          int64_t rows, int64_t cols) {
  constexpr int64_t W = sizeof(VF) / sizeof(float);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float* dr = d + r * cols;
    int64_t c = 0;
    for (; c + W <= cols; c += W)
      silu_vector<VF, VI>(bias == nullptr ? load<VF>(xr + c) : load<VF>(xr + c) + load<VF>(bias + c), yr + c, dr + c);
    for (; c < cols; ++c) silu_scalar(bias == nullptr ? xr[c] : xr[c] + bias[c], yr + c, dr + c);
  }
}

// A few input features (k <= kSmallIn): the pre-activation x wᵀ + b is formed in the activation's
// own pass, where a BLAS call would cost a cleared output, packing and a call for almost no arithmetic.
template <typename VF, typename VI>
__attribute__((always_inline)) inline void small_in_silu_body(const float* x, int64_t x_stride, int64_t k,
                                                              const float* wt, const float* bias, float* y, float* d,
                                                              int64_t rows, int64_t cols) {
  constexpr int64_t W = sizeof(VF) / sizeof(float);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * x_stride;
    float* yr = y + r * cols;
    float* dr = d + r * cols;
    int64_t c = 0;
    for (; c + W <= cols; c += W) {
      VF v = load<VF>(bias + c);
      for (int64_t j = 0; j < k; ++j) v += xr[j] * load<VF>(wt + j * cols + c);
      silu_vector<VF, VI>(v, yr + c, dr + c);
    }
    for (; c < cols; ++c) {
      float v = bias[c];
      for (int64_t j = 0; j < k; ++j) v += xr[j] * wt[j * cols + c];
      silu_scalar(v, yr + c, dr + c);
    }
  }
}

// Its backward in one pass: g = go * d is not stored; gx = g w, gwᵀ += xᵀ g, gb += column sums of g.
template <typename VF, typename VI>
__attribute__((always_inline)) inline void small_in_silu_backward_body(const float* go, const float* d, const float* x,
                                                                       int64_t x_stride, int64_t k, const float* wt,
                                                                       float* gx, float* gwt, float* gb, int64_t rows,
                                                                       int64_t cols) {
  constexpr int64_t W = sizeof(VF) / sizeof(float);
  for (int64_t r = 0; r < rows; ++r) {
    const float* gor = go + r * cols;
    const float* dr = d + r * cols;
    const float* xr = x + r * x_stride;
    VF acc[kSmallIn] = {};
    float tail[kSmallIn] = {};
    int64_t c = 0;
    for (; c + W <= cols; c += W) {
      const VF g = load<VF>(gor + c) * load<VF>(dr + c);
      if (gb != nullptr) store(gb + c, load<VF>(gb + c) + g);
      for (int64_t j = 0; j < k; ++j) {
        if (gwt != nullptr) store(gwt + j * cols + c, load<VF>(gwt + j * cols + c) + xr[j] * g);
        acc[j] += g * load<VF>(wt + j * cols + c);
      }
    }
    for (; c < cols; ++c) {
      const float g = gor[c] * dr[c];
      if (gb != nullptr) gb[c] += g;
      for (int64_t j = 0; j < k; ++j) {
        if (gwt != nullptr) gwt[j * cols + c] += xr[j] * g;
        tail[j] += g * wt[j * cols + c];
      }
    }
    if (gx != nullptr)
      for (int64_t j = 0; j < k; ++j) gx[r * k + j] = sum_lanes(acc[j]) + tail[j];
  }
}

// A few outputs (n <= kSmallOut), no activation: y = x wᵀ + b as n dot products a row.
template <typename VF, typename VI>
__attribute__((always_inline)) inline void narrow_linear_body(const float* x, const float* w, const float* b, float* y,
                                                              int64_t rows, int64_t in, int64_t n) {
  constexpr int64_t W = sizeof(VF) / sizeof(float);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * in;
    VF acc[kSmallOut] = {};
    float tail[kSmallOut] = {};
    int64_t c = 0;
    for (; c + W <= in; c += W) {
      const VF v = load<VF>(xr + c);
      for (int64_t o = 0; o < n; ++o) acc[o] += v * load<VF>(w + o * in + c);
    }
    for (; c < in; ++c)
      for (int64_t o = 0; o < n; ++o) tail[o] += xr[c] * w[o * in + c];
    for (int64_t o = 0; o < n; ++o) y[r * n + o] = sum_lanes(acc[o]) + tail[o] + b[o];
  }
}

// Its backward: gx = g w, gw += gᵀ x, gb += column sums of g, in one pass over the rows.
template <typename VF, typename VI>
__attribute__((always_inline)) inline void narrow_linear_backward_body(const float* g, const float* x, const float* w,
                                                                       float* gx, float* gw, float* gb, int64_t rows,
                                                                       int64_t in, int64_t n) {
  constexpr int64_t W = sizeof(VF) / sizeof(float);
  for (int64_t r = 0; r < rows; ++r) {
    const float* gr = g + r * n;
    const float* xr = x + r * in;
    float* gxr = gx == nullptr ? nullptr : gx + r * in;
    int64_t c = 0;
    for (; c + W <= in; c += W) {
      VF sx = {};
      const VF v = load<VF>(xr + c);
      for (int64_t o = 0; o < n; ++o) {
        sx += gr[o] * load<VF>(w + o * in + c);
        if (gw != nullptr) store(gw + o * in + c, load<VF>(gw + o * in + c) + gr[o] * v);
      }
      if (gxr != nullptr) store(gxr + c, sx);
    }
    for (; c < in; ++c) {
      float sx = 0;
      for (int64_t o = 0; o < n; ++o) {
        sx += gr[o] * w[o * in + c];
        if (gw != nullptr) gw[o * in + c] += gr[o] * xr[c];
      }
      if (gxr != nullptr) gxr[c] = sx;
    }
    if (gb != nullptr)
      for (int64_t o = 0; o < n; ++o) gb[o] += gr[o];
  }
}

// g = go * d and the bias gradient (column sums of g) in one pass; restrict lets it vectorise.
__attribute__((always_inline)) inline void silu_grad_body(const float* __restrict go, const float* __restrict d,
                                                          float* __restrict g, float* __restrict gb, int64_t rows,
                                                          int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict gor = go + r * cols;
    const float* __restrict dr = d + r * cols;
    float* __restrict gr = g + r * cols;
    for (int64_t c = 0; c < cols; ++c) {
      const float v = gor[c] * dr[c];
      gr[c] = v;
      gb[c] += v;
    }
  }
}

JEFFREYS_SIMD_DISPATCH(silu_grad_dispatch, silu_grad_body,
                       (const float* go, const float* d, float* g, float* gb, int64_t rows, int64_t cols),
                       (go, d, g, gb, rows, cols))

}  // namespace

JEFFREYS_VECTOR_DISPATCH(small_in_bias_silu, small_in_silu_body,
                         (const float* x, int64_t x_stride, int64_t k, const float* wt, const float* bias, float* y,
                          float* d, int64_t rows, int64_t cols),
                         (x, x_stride, k, wt, bias, y, d, rows, cols))
JEFFREYS_VECTOR_DISPATCH(small_in_silu_backward, small_in_silu_backward_body,
                         (const float* go, const float* d, const float* x, int64_t x_stride, int64_t k,
                          const float* wt, float* gx, float* gwt, float* gb, int64_t rows, int64_t cols),
                         (go, d, x, x_stride, k, wt, gx, gwt, gb, rows, cols))
JEFFREYS_VECTOR_DISPATCH(narrow_linear, narrow_linear_body,
                         (const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t in,
                          int64_t n),
                         (x, w, b, y, rows, in, n))
JEFFREYS_VECTOR_DISPATCH(narrow_linear_backward, narrow_linear_backward_body,
                         (const float* g, const float* x, const float* w, float* gx, float* gw, float* gb, int64_t rows,
                          int64_t in, int64_t n),
                         (g, x, w, gx, gw, gb, rows, in, n))

JEFFREYS_VECTOR_DISPATCH(bias_silu_and_derivative, bias_silu_body,
                         (const float* x, const float* bias, float* y, float* d, int64_t rows, int64_t cols),
                         (x, bias, y, d, rows, cols))

void silu_and_derivative(const float* x, float* y, float* d, int64_t n) { bias_silu_and_derivative(x, nullptr, y, d, 1, n); }

void silu_grad_and_bias_grad(const float* go, const float* d, float* g, float* gb, int64_t rows, int64_t cols) {
  silu_grad_dispatch(go, d, g, gb, rows, cols);
}

namespace {
// torch.optim.Adam's update, one pass over the four buffers instead of eight tensor operations.
template <typename T>
__attribute__((always_inline)) inline void adam_body(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, int64_t n, T beta1,
                 T beta2, T eps, T weight_decay, T step_size, T inv_sqrt_bc2) {
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i] + weight_decay * p[i];
    m[i] = beta1 * m[i] + (1 - beta1) * gi;
    v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
    p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
  }
}
#define JEFFREYS_ADAM_PARAMS(T)                                                                               \
  (T * p, const T* g, T* m, T* v, int64_t n, T beta1, T beta2, T eps, T weight_decay, T step_size, T inv_sqrt_bc2)
#define JEFFREYS_ADAM_ARGS (p, g, m, v, n, beta1, beta2, eps, weight_decay, step_size, inv_sqrt_bc2)
JEFFREYS_SIMD_DISPATCH(adam_float, adam_body<float>, JEFFREYS_ADAM_PARAMS(float), JEFFREYS_ADAM_ARGS)
JEFFREYS_SIMD_DISPATCH(adam_double, adam_body<double>, JEFFREYS_ADAM_PARAMS(double), JEFFREYS_ADAM_ARGS)

}  // namespace

void adam_step JEFFREYS_ADAM_PARAMS(float) { adam_float JEFFREYS_ADAM_ARGS; }
void adam_step JEFFREYS_ADAM_PARAMS(double) { adam_double JEFFREYS_ADAM_ARGS; }

}  // namespace jeffreys::core
