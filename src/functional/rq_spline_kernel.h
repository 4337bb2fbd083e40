#pragma once
// The rational-quadratic spline's fused CPU kernel on raw buffers (rq_spline_kernel.cpp): one pass
// per element forward and one backward, from the conditioner's raw parameters. Float runs several
// elements a vector; double one at a time, through the same code.
#include <cstdint>

namespace jeffreys::functional {

/// Most bins the kernel takes (its per-element arrays live on the stack).
constexpr int64_t kKernelMaxBins = 64;

/// The spline's constants: bins K, interval [-bound, bound], minimum bin width and height and knot
/// derivative, and the shift that makes a raw derivative parameter of 0 give derivative 1.
struct SplineConstants {
  int64_t bins;
  double bound, min_width, min_height, min_derivative, shift;
};

/// Elements [begin, end) of v [rows, d] (element m = r d + c): out and lad = log|dout/dv|. The
/// element's parameters are raw[r (3K-1) d + i d + c] for i < 3K-1 (widths, heights, interior
/// derivatives: the conditioners' parameter-major output). Outside [-bound, bound], the identity.
void rq_spline_kernel(const float* v, const float* raw, int64_t d, int64_t begin, int64_t end,
                      const SplineConstants& s, bool inverse, float* out, float* lad);
void rq_spline_kernel(const double* v, const double* raw, int64_t d, int64_t begin, int64_t end,
                      const SplineConstants& s, bool inverse, double* out, double* lad);

/// Its backward for upstream gradients g_out and g_lad: g_v, and g_raw (every parameter of the
/// elements [begin, end) written).
void rq_spline_kernel_backward(const float* v, const float* raw, const float* g_out, const float* g_lad, int64_t d,
                               int64_t begin, int64_t end, const SplineConstants& s, bool inverse, float* g_v,
                               float* g_raw);
void rq_spline_kernel_backward(const double* v, const double* raw, const double* g_out, const double* g_lad, int64_t d,
                               int64_t begin, int64_t end, const SplineConstants& s, bool inverse, double* g_v,
                               double* g_raw);

}  // namespace jeffreys::functional
