// The rational-quadratic spline kernel (rq_spline_kernel.h), written once over a lane type: a float
// vector of W elements (GCC vector extensions, compiled for each instruction set) or one double.
// Comparisons give masks and choices are ternaries, so the same text serves both; every helper is
// always_inline so that it is compiled for its caller's instruction set. Compiled without LibTorch's
// headers and with -fno-math-errno.
#include "rq_spline_kernel.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/vector.h"

#define JEFFREYS_INLINE __attribute__((always_inline)) inline

namespace jeffreys::functional {
namespace {

/// One double a lane: the reference precision, and the code the float vectors are checked against.
struct DoubleLanes {
  using T = double;
  using S = double;
  using I = int;
  static constexpr int W = 1;
  static JEFFREYS_INLINE T load(const S* p) { return *p; }
  static JEFFREYS_INLINE void store(S* p, T v) { *p = v; }
  static JEFFREYS_INLINE T exp(T x) { return std::exp(x); }
  static JEFFREYS_INLINE T log(T x) { return std::log(x); }
  static JEFFREYS_INLINE T sqrt(T x) { return std::sqrt(x); }
};

/// W floats a lane (Cephes exp and log, relative error about 1e-7).
template <typename VF, typename VI>
struct FloatLanes {
  using T = VF;
  using S = float;
  using I = VI;
  static constexpr int W = sizeof(VF) / sizeof(float);
  static JEFFREYS_INLINE T load(const S* p) { return core::load<VF>(p); }
  static JEFFREYS_INLINE void store(S* p, T v) { core::store(p, v); }
  static JEFFREYS_INLINE T exp(T x) { return core::exp_vector<VF, VI>(x); }
  static JEFFREYS_INLINE T log(T x) { return core::log_vector<VF, VI>(x); }
  static JEFFREYS_INLINE T sqrt(T x) {
    for (int j = 0; j < W; ++j) x[j] = std::sqrt(x[j]);
    return x;
  }
};

template <typename S>
struct Consts {
  int K;
  S B, min_w, min_h, min_d, shift;
  explicit Consts(const SplineConstants& s)
      : K(static_cast<int>(s.bins)),
        B(static_cast<S>(s.bound)),
        min_w(static_cast<S>(s.min_width)),
        min_h(static_cast<S>(s.min_height)),
        min_d(static_cast<S>(s.min_derivative)),
        shift(static_cast<S>(s.shift)) {}
};

/// The lanes' bins: index k, left knot and size on each axis, the knot derivatives at the bin's
/// ends and the softplus' slope there (0 at the pinned ends), and the softmaxes (for backward).
template <typename L>
struct Bin {
  using T = typename L::T;
  typename L::I k;
  T cw, w, ch, h, d0, d1, slope0, slope1;
  T soft_w[kKernelMaxBins], soft_h[kKernelMaxBins];
};

/// LibTorch's softplus (threshold 20) and its slope σ(z). log1p(e) is taken as log(u) e / (u - 1)
/// with u = 1 + e rounded (Goldberg's correction, a few ulp), so that only exp and log are needed.
template <typename L>
JEFFREYS_INLINE typename L::T softplus(typename L::T z, typename L::T* slope) {
  using T = typename L::T;
  const T e = L::exp(z), u = 1 + e;
  const T sp = u == 1 ? e : L::log(u) * (e / (u - 1));
  *slope = z > 20 ? T{} + 1 : e / u;
  return z > 20 ? z : sp;
}

/// prm: the lanes' parameters, parameter i of lane j at prm[i W + j]. Softmax of each axis' K raw
/// sizes, the bin fractions s (1 - K m) + m and their knots (ends pinned at ±B, as in the composite
/// path), the bin the input falls in, and its two knot derivatives softplus(raw + shift) + min.
template <typename L>
JEFFREYS_INLINE void locate(const typename L::S* prm, typename L::T v, const Consts<typename L::S>& c, bool by_height,
                            Bin<L>* b) {
  using T = typename L::T;
  using I = typename L::I;
  constexpr int W = L::W;
  const int K = c.K;
  T kw[kKernelMaxBins + 1], kh[kKernelMaxBins + 1];
  for (int axis = 0; axis < 2; ++axis) {
    const typename L::S* a = prm + axis * K * W;
    T* soft = axis == 0 ? b->soft_w : b->soft_h;
    T* knot = axis == 0 ? kw : kh;
    const auto min_size = axis == 0 ? c.min_w : c.min_h;
    T mx = L::load(a);
    for (int i = 1; i < K; ++i) {
      const T r = L::load(a + i * W);
      mx = r > mx ? r : mx;
    }
    T sum = T{};
    for (int i = 0; i < K; ++i) sum += soft[i] = L::exp(L::load(a + i * W) - mx);
    const T inv = 1 / sum;
    const auto scale = 1 - min_size * K;
    // The running sum is compensated (Kahan): LibTorch's cumsum on the composite path accumulates
    // floats in double, and a plain float sum of the fractions puts the knots 4x further off.
    T acc = T{}, lost = T{};
    knot[0] = T{} - c.B;
    for (int i = 0; i < K; ++i) {
      soft[i] *= inv;
      if (i + 1 < K) {
        const T add = soft[i] * scale + min_size - lost, sum = acc + add;
        lost = (sum - acc) - add;
        acc = sum;
        knot[i + 1] = acc * (2 * c.B) - c.B;
      }
    }
    knot[K] = T{} + c.B;
  }
  const T* edges = by_height ? kh : kw;
  I k = I{};
  for (int j = 1; j < K; ++j) k = v >= edges[j] ? k + 1 : k;
  T cw = kw[0], w = kw[1] - kw[0], ch = kh[0], h = kh[1] - kh[0];
  const typename L::S* rd = prm + 2 * K * W;
  T z0 = T{}, z1 = L::load(rd);
  for (int j = 1; j < K; ++j) {
    const auto here = k == j;
    cw = here ? kw[j] : cw;
    w = here ? kw[j + 1] - kw[j] : w;
    ch = here ? kh[j] : ch;
    h = here ? kh[j + 1] - kh[j] : h;
    z0 = here ? L::load(rd + (j - 1) * W) : z0;
    if (j + 1 < K) z1 = here ? L::load(rd + j * W) : z1;
  }
  b->k = k;
  b->cw = cw, b->w = w, b->ch = ch, b->h = h;
  T s0, s1;
  const T sp0 = softplus<L>(z0 + c.shift, &s0), sp1 = softplus<L>(z1 + c.shift, &s1);
  b->d0 = k == 0 ? T{} + 1 : sp0 + c.min_d;
  b->slope0 = k == 0 ? T{} : s0;
  b->d1 = k == K - 1 ? T{} + 1 : sp1 + c.min_d;
  b->slope1 = k == K - 1 ? T{} : s1;
}

/// The derivative's square-free form: dy/dx = δ² Q / den², with Q = d1 θ² + 2δ θ(1-θ) + d0 (1-θ)².
template <typename T>
JEFFREYS_INLINE T derivative(T theta, T delta, T d0, T d1) {
  const T omt = 1 - theta, t1 = theta * omt;
  const T den = delta + (d0 + d1 - 2 * delta) * t1;
  return delta * delta * (d1 * theta * theta + 2 * delta * t1 + d0 * omt * omt) / (den * den);
}

/// θ of the bin for an output value: the stable root of a θ² + b θ + c = 0 in [0, 1].
template <typename L>
JEFFREYS_INLINE typename L::T solve_theta(const Bin<L>& b, typename L::T yc) {
  using T = typename L::T;
  const T delta = b.h / b.w, dy = yc - b.ch, ss = b.d0 + b.d1 - 2 * delta;
  const T qa = dy * ss + b.h * (delta - b.d0);
  const T qb = b.h * b.d0 - dy * ss;
  const T qc = -delta * dy;
  T disc = qb * qb - 4 * qa * qc;
  disc = disc > 0 ? disc : T{};
  return (2 * qc) / (-qb - L::sqrt(disc));
}

/// y(θ) = ch + h A / den and lad = log(δ² Q) - 2 log den: their vector-Jacobian products for
/// upstream gradients gy (on y) and gl (on lad), at fixed θ, δ = h / w, d0, d1 and h.
template <typename T>
struct Partials {
  T theta, delta, d0, d1, h_direct;
};

template <typename T>
JEFFREYS_INLINE Partials<T> spline_vjp(T theta, T delta, T h, T d0, T d1, T gy, T gl) {
  const T omt = 1 - theta, t1 = theta * omt, ss = d0 + d1 - 2 * delta;
  const T A = delta * theta * theta + d0 * t1;
  const T den = delta + ss * t1;
  const T Q = d1 * theta * theta + 2 * delta * t1 + d0 * omt * omt;
  const T g_A = gy * h / den;
  const T g_den = -gy * h * A / (den * den) - 2 * gl / den;
  const T g_Q = gl / Q;
  Partials<T> p;
  p.theta = g_A * (2 * delta * theta + d0 * (1 - 2 * theta)) + g_den * ss * (1 - 2 * theta) +
            g_Q * (2 * d1 * theta + 2 * delta * (1 - 2 * theta) - 2 * d0 * omt);
  p.delta = g_A * theta * theta + g_den * (1 - 2 * t1) + 2 * gl / delta + g_Q * 2 * t1;
  p.d0 = (g_A + g_den) * t1 + g_Q * omt * omt;
  p.d1 = g_den * t1 + g_Q * theta * theta;
  p.h_direct = gy * A / den;
  return p;
}

/// Gathers the lanes of elements [m, m + n) (n <= W; the rest repeat the last): their inputs into
/// x and their parameters into prm; off[j] is lane j's first parameter in raw.
template <typename S, int W>
JEFFREYS_INLINE void gather(const S* v, const S* raw, int64_t m, int n, int64_t d, int64_t P, int64_t* row,
                            int64_t* col, int64_t* off, S* x, S* prm) {
  for (int j = 0; j < W; ++j) {
    if (j < n) {
      off[j] = *row * P * d + *col;
      x[j] = v[m + j];
      if (++*col == d) *col = 0, ++*row;
    } else {
      off[j] = off[n - 1];
      x[j] = x[n - 1];
    }
  }
  for (int64_t i = 0; i < P; ++i)
    for (int j = 0; j < W; ++j) prm[i * W + j] = raw[off[j] + i * d];
}

template <typename L>
JEFFREYS_INLINE void forward_body(const typename L::S* v, const typename L::S* raw, int64_t d, int64_t begin,
                                  int64_t end, const SplineConstants& sc, bool inverse, typename L::S* out,
                                  typename L::S* lad) {
  using T = typename L::T;
  using S = typename L::S;
  constexpr int W = L::W;
  const Consts<S> c(sc);
  const int64_t P = 3 * c.K - 1;
  alignas(64) S prm[(3 * kKernelMaxBins - 1) * W];
  alignas(64) S xs[W], ys[W], ls[W];
  int64_t off[W], row = begin / d, col = begin % d;
  Bin<L> b;
  for (int64_t m = begin; m < end; m += W) {
    const int n = static_cast<int>(std::min<int64_t>(W, end - m));
    gather<S, W>(v, raw, m, n, d, P, &row, &col, off, xs, prm);
    const T x = L::load(xs);
    locate<L>(prm, x, c, inverse, &b);
    const T delta = b.h / b.w;
    T y, l;
    if (!inverse) {
      const T theta = (x - b.cw) / b.w, t1 = theta * (1 - theta);
      const T den = delta + (b.d0 + b.d1 - 2 * delta) * t1;
      y = b.ch + b.h * (delta * theta * theta + b.d0 * t1) / den;
      l = L::log(derivative(theta, delta, b.d0, b.d1));
    } else {
      const T theta = solve_theta<L>(b, x);
      y = theta * b.w + b.cw;
      l = -L::log(derivative(theta, delta, b.d0, b.d1));
    }
    const auto inside = (x >= -c.B) & (x <= c.B);
    L::store(ys, inside ? y : x);
    L::store(ls, inside ? l : T{});
    std::memcpy(out + m, ys, n * sizeof(S));
    std::memcpy(lad + m, ls, n * sizeof(S));
  }
}

template <typename L>
JEFFREYS_INLINE void backward_body(const typename L::S* v, const typename L::S* raw, const typename L::S* g_out,
                                   const typename L::S* g_lad, int64_t d, int64_t begin, int64_t end,
                                   const SplineConstants& sc, bool inverse, typename L::S* g_v, typename L::S* g_raw) {
  using T = typename L::T;
  using S = typename L::S;
  constexpr int W = L::W;
  const Consts<S> c(sc);
  const int K = c.K;
  const int64_t P = 3 * K - 1;
  alignas(64) S prm[(3 * kKernelMaxBins - 1) * W], gp[(3 * kKernelMaxBins - 1) * W];
  // A partial last group reads all W lanes of upstream gradients; those past its end (never written
  // back) hold zeros or an earlier group's values, not indeterminate memory.
  alignas(64) S xs[W], gys[W] = {}, gls[W] = {};
  int64_t off[W], row = begin / d, col = begin % d;
  Bin<L> b;
  for (int64_t m = begin; m < end; m += W) {
    const int n = static_cast<int>(std::min<int64_t>(W, end - m));
    gather<S, W>(v, raw, m, n, d, P, &row, &col, off, xs, prm);
    std::memcpy(gys, g_out + m, n * sizeof(S));
    std::memcpy(gls, g_lad + m, n * sizeof(S));
    const T x = L::load(xs), gy = L::load(gys), gl = L::load(gls);
    locate<L>(prm, x, c, inverse, &b);
    const T delta = b.h / b.w;
    T gv, g_cw, g_w, g_ch, g_h, g_d0, g_d1;
    if (!inverse) {
      const T theta = (x - b.cw) / b.w;
      const auto p = spline_vjp(theta, delta, b.h, b.d0, b.d1, gy, gl);
      gv = p.theta / b.w;
      g_cw = -p.theta / b.w;
      g_w = -(p.theta * theta + p.delta * delta) / b.w;
      g_ch = gy;
      g_h = p.h_direct + p.delta / b.w;
      g_d0 = p.d0;
      g_d1 = p.d1;
    } else {
      // x = θ w + cw with θ defined implicitly by y = ch + h A(θ) / den(θ): differentiate the
      // forward map instead of the quadratic formula (dθ = (dy - ∂y/∂q dq) / (∂y/∂θ)).
      const T theta = solve_theta<L>(b, x);
      const auto f = spline_vjp(theta, delta, b.h, b.d0, b.d1, T{} + 1, T{});  // ∂y/∂·
      const auto l = spline_vjp(theta, delta, b.h, b.d0, b.d1, T{}, -gl);      // lad_inv = -lad
      const T lambda = (gy * b.w + l.theta) / f.theta;
      gv = lambda;
      const T g_delta = -lambda * f.delta + l.delta;
      g_cw = gy;
      g_w = gy * theta - g_delta * delta / b.w;
      g_ch = -lambda;
      g_h = -lambda * f.h_direct + g_delta / b.w;
      g_d0 = -lambda * f.d0 + l.d0;
      g_d1 = -lambda * f.d1 + l.d1;
    }
    // Back through the knots (knot j = 2B Σ_{i<j} frac_i - B for 1 <= j < K; knots 0 and K are
    // pinned), the fractions' affine map and the softmaxes; the bin's left knot gets g_cw - g_w
    // (through its left end and its size), its right knot g_w.
    const auto inside = (x >= -c.B) & (x <= c.B);
    const T g_lo_w = g_cw - g_w, g_lo_h = g_ch - g_h;
    const auto sw = 2 * c.B * (1 - c.min_w * K), sh = 2 * c.B * (1 - c.min_h * K);
    T gw[kKernelMaxBins], gh[kKernelMaxBins];
    T dot_w = T{}, dot_h = T{};
    for (int i = 0; i < K; ++i) {
      const auto left = (b.k >= 1) & (b.k > i), right = (b.k <= K - 2) & (b.k >= i);
      const T aw = (left ? g_lo_w : T{}) + (right ? g_w : T{});
      const T ah = (left ? g_lo_h : T{}) + (right ? g_h : T{});
      gw[i] = aw * sw;
      gh[i] = ah * sh;
      dot_w += gw[i] * b.soft_w[i];
      dot_h += gh[i] * b.soft_h[i];
    }
    for (int i = 0; i < K; ++i) {
      L::store(gp + i * W, inside ? b.soft_w[i] * (gw[i] - dot_w) : T{});
      L::store(gp + (K + i) * W, inside ? b.soft_h[i] * (gh[i] - dot_h) : T{});
    }
    const T gd0 = g_d0 * b.slope0, gd1 = g_d1 * b.slope1;
    for (int j = 0; j + 1 < K; ++j) {
      const T g = b.k == j + 1 ? gd0 : (b.k == j ? gd1 : T{});
      L::store(gp + (2 * K + j) * W, inside ? g : T{});
    }
    L::store(xs, inside ? gv : gy);
    std::memcpy(g_v + m, xs, n * sizeof(S));
    for (int j = 0; j < n; ++j)
      for (int64_t i = 0; i < P; ++i) g_raw[off[j] + i * d] = gp[i * W + j];
  }
}

template <typename VF, typename VI>
JEFFREYS_INLINE void forward_float(const float* v, const float* raw, int64_t d, int64_t begin, int64_t end,
                                   const SplineConstants& s, bool inverse, float* out, float* lad) {
  forward_body<FloatLanes<VF, VI>>(v, raw, d, begin, end, s, inverse, out, lad);
}

template <typename VF, typename VI>
JEFFREYS_INLINE void backward_float(const float* v, const float* raw, const float* g_out, const float* g_lad,
                                    int64_t d, int64_t begin, int64_t end, const SplineConstants& s, bool inverse,
                                    float* g_v, float* g_raw) {
  backward_body<FloatLanes<VF, VI>>(v, raw, g_out, g_lad, d, begin, end, s, inverse, g_v, g_raw);
}

}  // namespace

JEFFREYS_VECTOR_DISPATCH(rq_spline_kernel, forward_float,
                         (const float* v, const float* raw, int64_t d, int64_t begin, int64_t end,
                          const SplineConstants& s, bool inverse, float* out, float* lad),
                         (v, raw, d, begin, end, s, inverse, out, lad))
JEFFREYS_VECTOR_DISPATCH(rq_spline_kernel_backward, backward_float,
                         (const float* v, const float* raw, const float* g_out, const float* g_lad, int64_t d,
                          int64_t begin, int64_t end, const SplineConstants& s, bool inverse, float* g_v,
                          float* g_raw),
                         (v, raw, g_out, g_lad, d, begin, end, s, inverse, g_v, g_raw))

void rq_spline_kernel(const double* v, const double* raw, int64_t d, int64_t begin, int64_t end,
                      const SplineConstants& s, bool inverse, double* out, double* lad) {
  forward_body<DoubleLanes>(v, raw, d, begin, end, s, inverse, out, lad);
}

void rq_spline_kernel_backward(const double* v, const double* raw, const double* g_out, const double* g_lad, int64_t d,
                               int64_t begin, int64_t end, const SplineConstants& s, bool inverse, double* g_v,
                               double* g_raw) {
  backward_body<DoubleLanes>(v, raw, g_out, g_lad, d, begin, end, s, inverse, g_v, g_raw);
}

}  // namespace jeffreys::functional
