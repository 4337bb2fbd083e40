#include "jeffreys/functional/rational_quadratic.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace jeffreys::functional {
namespace {

void check_arguments(const torch::Tensor& params, const SplineShape& s) {
  const int64_t K = s.bins;
  TORCH_CHECK(K >= 2, "rational-quadratic spline: needs at least 2 bins, got ", K);
  TORCH_CHECK(params.size(-1) == 3 * K - 1, "rational-quadratic spline: expected ", 3 * K - 1,
              " parameters per dimension (bins = ", K, "), got ", params.size(-1));
  TORCH_CHECK(s.min_bin_width * K < 1.0 && s.min_bin_height * K < 1.0,
              "rational-quadratic spline: min_bin_width/height times bins must be < 1");
  TORCH_CHECK(s.min_derivative >= 0 && s.min_derivative < 1,
              "rational-quadratic spline: min_derivative must be in [0, 1), got ", s.min_derivative);
}

/// Shift that makes a raw derivative parameter of 0 give derivative 1 (see locate()).
double unit_derivative_shift(const SplineShape& s) { return std::log(std::expm1(1.0 - s.min_derivative)); }

torch::Tensor normalised_bins(const torch::Tensor& raw, double min_size, double bound, torch::Tensor* sizes) {
  const int64_t K = raw.size(-1);
  auto frac = torch::softmax(raw, -1) * (1.0 - min_size * K) + min_size;
  auto cum = torch::nn::functional::pad(torch::cumsum(frac, -1),
                                        torch::nn::functional::PadFuncOptions({1, 0}).value(0.0));
  cum = cum * (2.0 * bound) - bound;
  // Pin both ends exactly so that the spline maps [-B, B] onto itself without rounding drift.
  cum.select(-1, 0).fill_(-bound);
  cum.select(-1, K).fill_(bound);
  *sizes = cum.narrow(-1, 1, K) - cum.narrow(-1, 0, K);
  return cum;
}

torch::Tensor gather_bin(const torch::Tensor& t, const torch::Tensor& idx) {
  return t.gather(-1, idx).squeeze(-1);
}

struct Evaluated {
  torch::Tensor inside, xc;          // mask and the input clamped into the interval
  torch::Tensor cw, w, ch, h, delta, d0, d1;  // per-element values of the selected bin
};

Evaluated locate(const torch::Tensor& v, const torch::Tensor& params, const SplineShape& s, bool by_height) {
  const int64_t K = s.bins;
  check_arguments(params, s);
  torch::Tensor widths, heights;
  auto cum_w = normalised_bins(params.narrow(-1, 0, K), s.min_bin_width, s.bound, &widths);
  auto cum_h = normalised_bins(params.narrow(-1, K, K), s.min_bin_height, s.bound, &heights);
  // Interior derivatives are positive; the boundary ones are 1 to match the identity tails. The
  // softplus is shifted so that a raw 0 gives derivative 1: zero parameters (zero_init) then give
  // equal bins and unit slopes, i.e. the identity.
  const double unit_shift = unit_derivative_shift(s);
  auto inner = torch::nn::functional::softplus(params.narrow(-1, 2 * K, K - 1) + unit_shift) + s.min_derivative;
  auto derivs = torch::nn::functional::pad(inner, torch::nn::functional::PadFuncOptions({1, 1}).value(1.0));

  Evaluated e;
  e.inside = (v >= -s.bound) & (v <= s.bound);
  e.xc = v.clamp(-s.bound, s.bound);
  const auto& edges = by_height ? cum_h : cum_w;
  auto idx = (e.xc.unsqueeze(-1) >= edges.narrow(-1, 1, K - 1)).sum(-1, /*keepdim=*/true);
  e.cw = gather_bin(cum_w, idx);
  e.w = gather_bin(widths, idx);
  e.ch = gather_bin(cum_h, idx);
  e.h = gather_bin(heights, idx);
  e.delta = e.h / e.w;
  e.d0 = gather_bin(derivs, idx);
  e.d1 = gather_bin(derivs.narrow(-1, 1, K), idx);
  return e;
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> rq_spline_forward_composite(const torch::Tensor& x,
                                                                    const torch::Tensor& params,
                                                                    const SplineShape& shape) {
  auto e = locate(x, params, shape, /*by_height=*/false);
  auto theta = (e.xc - e.cw) / e.w;
  auto t1mt = theta * (1 - theta);
  auto num = e.h * (e.delta * theta.square() + e.d0 * t1mt);
  auto den = e.delta + (e.d0 + e.d1 - 2 * e.delta) * t1mt;
  auto y = e.ch + num / den;
  auto dnum = e.delta.square() * (e.d1 * theta.square() + 2 * e.delta * t1mt + e.d0 * (1 - theta).square());
  auto lad = torch::log(dnum) - 2 * torch::log(den);
  return {torch::where(e.inside, y, x), torch::where(e.inside, lad, torch::zeros_like(lad))};
}

std::pair<torch::Tensor, torch::Tensor> rq_spline_inverse_composite(const torch::Tensor& y,
                                                                    const torch::Tensor& params,
                                                                    const SplineShape& shape) {
  auto e = locate(y, params, shape, /*by_height=*/true);
  auto dy = e.xc - e.ch;
  auto slope_sum = e.d0 + e.d1 - 2 * e.delta;
  auto a = dy * slope_sum + e.h * (e.delta - e.d0);
  auto b = e.h * e.d0 - dy * slope_sum;
  auto c = -e.delta * dy;
  auto disc = (b.square() - 4 * a * c).clamp_min(0);
  // The numerically stable root of a θ² + b θ + c = 0 that lies in [0, 1].
  auto theta = (2 * c) / (-b - torch::sqrt(disc));
  auto x = theta * e.w + e.cw;
  auto t1mt = theta * (1 - theta);
  auto den = e.delta + slope_sum * t1mt;
  auto dnum = e.delta.square() * (e.d1 * theta.square() + 2 * e.delta * t1mt + e.d0 * (1 - theta).square());
  auto lad = 2 * torch::log(den) - torch::log(dnum);
  return {torch::where(e.inside, x, y), torch::where(e.inside, lad, torch::zeros_like(lad))};
}

}  // namespace jeffreys::functional


// ---------------------------------------------------------------------------------------------
// Fused CPU path: from the conditioner's raw parameters to {y, log|dy/dx|} in one pass per
// element forward and one backward (softmax of the bin sizes, knots, bin search, the two knot
// derivatives the bin needs, the rational-quadratic formula or its inverse, and all their
// derivatives), instead of some fifty tensor operations over [n, d] and [n, d, bins] each way.
namespace jeffreys::functional {
namespace {

constexpr int64_t kMaxBins = 64;

/// Shape constants in the element type.
template <typename T>
struct Consts {
  int64_t K;
  T B, min_w, min_h, min_d, shift;
};

/// Softmax of K raw values spaced `stride` apart, and the bin fractions s (1 - K m) + m.
template <typename T>
inline void bin_fractions(const T* raw, int64_t stride, int64_t K, T min_size, T* soft, T* frac) {
  T mx = raw[0];
  for (int64_t i = 1; i < K; ++i) mx = std::max(mx, raw[i * stride]);
  T sum = 0;
  for (int64_t i = 0; i < K; ++i) sum += soft[i] = std::exp(raw[i * stride] - mx);
  const T inv = 1 / sum, scale = 1 - min_size * static_cast<T>(K);
  for (int64_t i = 0; i < K; ++i) {
    soft[i] *= inv;
    frac[i] = soft[i] * scale + min_size;
  }
}

/// Knots of one axis from its bin fractions, ends pinned at ±B as in the composite path.
template <typename T>
inline void knots(const T* frac, int64_t K, T B, T* out) {
  double acc = 0;
  out[0] = -B;
  for (int64_t j = 1; j < K; ++j) {
    acc += frac[j - 1];
    out[j] = static_cast<T>(acc) * (2 * B) - B;
  }
  out[K] = B;
}

/// LibTorch's softplus (threshold 20) and its derivative.
template <typename T>
inline T softplus(T z) {
  return z > T(20) ? z : std::log1p(std::exp(z));
}
template <typename T>
inline T softplus_grad(T z) {
  return z > T(20) ? T(1) : 1 / (1 + std::exp(-z));
}

/// One element's spline: the softmaxes of both axes (kept for the backward pass) and the bin that
/// the input falls in, with its left knot and size on each axis and the derivatives at its ends.
template <typename T>
struct Element {
  T soft_w[kMaxBins], soft_h[kMaxBins];
  int64_t k;
  T cw, w, ch, h, d0, d1;
};

/// raw: the element's parameters, parameter i at raw[i * stride] (widths, heights, derivatives).
template <typename T>
inline void locate(T v, const T* raw, int64_t stride, const Consts<T>& c, bool by_height, Element<T>* e) {
  const int64_t K = c.K;
  T fw[kMaxBins], fh[kMaxBins], kw[kMaxBins + 1], kh[kMaxBins + 1];
  bin_fractions(raw, stride, K, c.min_w, e->soft_w, fw);
  bin_fractions(raw + K * stride, stride, K, c.min_h, e->soft_h, fh);
  knots(fw, K, c.B, kw);
  knots(fh, K, c.B, kh);
  const T* edges = by_height ? kh : kw;
  int64_t k = 0;
  for (int64_t j = 1; j < K; ++j) k += v >= edges[j];
  e->k = k;
  e->cw = kw[k];
  e->w = kw[k + 1] - kw[k];
  e->ch = kh[k];
  e->h = kh[k + 1] - kh[k];
  // Interior knot j has derivative softplus(raw + shift) + min; the two ends have 1.
  const T* rd = raw + 2 * K * stride;
  e->d0 = k == 0 ? T(1) : softplus(rd[(k - 1) * stride] + c.shift) + c.min_d;
  e->d1 = k == K - 1 ? T(1) : softplus(rd[k * stride] + c.shift) + c.min_d;
}

/// y(θ) = ch + h A / den and lad = log(δ² Q) - 2 log den, with their vector-Jacobian products
/// for upstream gradients gy (on y) and gl (on lad), at fixed θ, δ = h / w, d0, d1 and h.
template <typename T>
struct Partials {
  T theta, delta, d0, d1, h_direct;
};

template <typename T>
inline Partials<T> spline_vjp(T theta, T delta, T h, T d0, T d1, T gy, T gl) {
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

template <typename T>
inline T log_derivative(T theta, T delta, T d0, T d1) {
  const T omt = 1 - theta, t1 = theta * omt;
  const T den = delta + (d0 + d1 - 2 * delta) * t1;
  const T dnum = delta * delta * (d1 * theta * theta + 2 * delta * t1 + d0 * omt * omt);
  return std::log(dnum) - 2 * std::log(den);
}

/// θ of the bin for an output value (the stable root of the quadratic, as in the composite path).
template <typename T>
inline T solve_theta(const Element<T>& b, T yc) {
  const T delta = b.h / b.w, dy = yc - b.ch, ss = b.d0 + b.d1 - 2 * delta;
  const T a = dy * ss + b.h * (delta - b.d0);
  const T bq = b.h * b.d0 - dy * ss;
  const T c = -delta * dy;
  const T disc = std::max(bq * bq - 4 * a * c, T(0));
  return (2 * c) / (-bq - std::sqrt(disc));
}

/// Gradients on the bin's quantities, pushed back through the knots, the fractions' affine map and
/// the softmax (widths, heights) and the softplus (the two derivatives) to the raw parameters.
/// Knot j (1 <= j < K) is 2B Σ_{i<j} frac_i - B; knots 0 and K are pinned constants.
template <typename T>
inline void raw_grads(const Element<T>& e, const T* raw, int64_t stride, const Consts<T>& c, T g_cw, T g_w, T g_ch,
                      T g_h, T g_d0, T g_d1, T* g_raw) {
  const int64_t K = c.K, k = e.k;
  const T g_lo_w = g_cw - g_w, g_lo_h = g_ch - g_h;  // on knot k (through the left end and the size)
  T gw[kMaxBins], gh[kMaxBins];
  T dot_w = 0, dot_h = 0;
  const T sw = 2 * c.B * (1 - c.min_w * static_cast<T>(K)), sh = 2 * c.B * (1 - c.min_h * static_cast<T>(K));
  for (int64_t i = 0; i < K; ++i) {
    T aw = 0, ah = 0;
    if (k >= 1 && i < k) aw += g_lo_w, ah += g_lo_h;
    if (k + 1 <= K - 1 && i < k + 1) aw += g_w, ah += g_h;
    gw[i] = aw * sw;  // gradient on softmax output i
    gh[i] = ah * sh;
    dot_w += gw[i] * e.soft_w[i];
    dot_h += gh[i] * e.soft_h[i];
  }
  for (int64_t i = 0; i < K; ++i) {
    g_raw[i * stride] = e.soft_w[i] * (gw[i] - dot_w);
    g_raw[(K + i) * stride] = e.soft_h[i] * (gh[i] - dot_h);
  }
  T* gd = g_raw + 2 * K * stride;
  const T* rd = raw + 2 * K * stride;
  for (int64_t j = 0; j < K - 1; ++j) gd[j * stride] = 0;
  if (k >= 1) gd[(k - 1) * stride] = g_d0 * softplus_grad(rd[(k - 1) * stride] + c.shift);
  if (k <= K - 2) gd[k * stride] = g_d1 * softplus_grad(rd[k * stride] + c.shift);
}

template <typename T>
Consts<T> consts(const SplineShape& s) {
  return {s.bins,
          static_cast<T>(s.bound),
          static_cast<T>(s.min_bin_width),
          static_cast<T>(s.min_bin_height),
          static_cast<T>(s.min_derivative),
          static_cast<T>(unit_derivative_shift(s))};
}

class FusedSpline : public torch::autograd::Function<FusedSpline> {
 public:
  /// v [N, d]; raw [N, 3K-1, d], contiguous: parameter-major like the conditioners' output, so
  /// that no transposed copy is needed.
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& v,
                                                const torch::Tensor& raw, SplineShape shape, bool inverse) {
    const int64_t N = v.size(0), d = v.size(1), P = raw.size(1);
    auto out = torch::empty_like(v);
    auto lad = torch::empty_like(v);
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "rq_spline_fused_forward", [&] {
      using T = scalar_t;
      const auto c = consts<T>(shape);
      const T* vp = v.data_ptr<T>();
      const T* rp = raw.data_ptr<T>();
      T* op = out.data_ptr<T>();
      T* lp = lad.data_ptr<T>();
      // Elements are independent: split them over the intra-op threads (one thread: a plain loop).
      at::parallel_for(0, N * d, 2048, [&](int64_t m0, int64_t m1) {
        Element<T> e;
        for (int64_t m = m0; m < m1; ++m) {
          const T x = vp[m];
          if (!(x >= -c.B && x <= c.B)) {
            op[m] = x;
            lp[m] = 0;
            continue;
          }
          locate(x, rp + (m / d) * P * d + m % d, d, c, inverse, &e);
          const T delta = e.h / e.w;
          if (!inverse) {
            const T theta = (x - e.cw) / e.w, t1 = theta * (1 - theta);
            const T den = delta + (e.d0 + e.d1 - 2 * delta) * t1;
            op[m] = e.ch + e.h * (delta * theta * theta + e.d0 * t1) / den;
            lp[m] = log_derivative(theta, delta, e.d0, e.d1);
          } else {
            const T theta = solve_theta(e, x);
            op[m] = theta * e.w + e.cw;
            lp[m] = -log_derivative(theta, delta, e.d0, e.d1);
          }
        }
      });
    });
    ctx->save_for_backward({v, raw});
    ctx->saved_data["bins"] = shape.bins;
    ctx->saved_data["bound"] = shape.bound;
    ctx->saved_data["min_bin_width"] = shape.min_bin_width;
    ctx->saved_data["min_bin_height"] = shape.min_bin_height;
    ctx->saved_data["min_derivative"] = shape.min_derivative;
    ctx->saved_data["inverse"] = inverse;
    return {out, lad};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &v = saved[0], &raw = saved[1];
    SplineShape shape;
    shape.bins = ctx->saved_data["bins"].toInt();
    shape.bound = ctx->saved_data["bound"].toDouble();
    shape.min_bin_width = ctx->saved_data["min_bin_width"].toDouble();
    shape.min_bin_height = ctx->saved_data["min_bin_height"].toDouble();
    shape.min_derivative = ctx->saved_data["min_derivative"].toDouble();
    const bool inverse = ctx->saved_data["inverse"].toBool();
    const int64_t N = v.size(0), d = v.size(1), P = raw.size(1);
    auto g_out = grads[0].defined() ? grads[0].contiguous() : torch::zeros_like(v);
    auto g_lad = grads[1].defined() ? grads[1].contiguous() : torch::zeros_like(v);
    auto g_v = torch::empty_like(v);
    auto g_raw = torch::empty_like(raw);
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "rq_spline_fused_backward", [&] {
      using T = scalar_t;
      const auto c = consts<T>(shape);
      const T* vp = v.data_ptr<T>();
      const T* rp = raw.data_ptr<T>();
      const T* gop = g_out.data_ptr<T>();
      const T* glp = g_lad.data_ptr<T>();
      T* gvp = g_v.data_ptr<T>();
      T* grp = g_raw.data_ptr<T>();
      at::parallel_for(0, N * d, 2048, [&](int64_t m0, int64_t m1) {
        Element<T> e;
        for (int64_t m = m0; m < m1; ++m) {
          const T x = vp[m];
          const int64_t offset = (m / d) * P * d + m % d;
          T* g_m = grp + offset;
          if (!(x >= -c.B && x <= c.B)) {  // identity tails: the parameters get no gradient
            gvp[m] = gop[m];
            for (int64_t i = 0; i < P; ++i) g_m[i * d] = 0;
            continue;
          }
          locate(x, rp + offset, d, c, inverse, &e);
          const T delta = e.h / e.w;
          T g_cw, g_w, g_ch, g_h, g_d0, g_d1;
          if (!inverse) {
            const T theta = (x - e.cw) / e.w;
            const auto p = spline_vjp(theta, delta, e.h, e.d0, e.d1, gop[m], glp[m]);
            gvp[m] = p.theta / e.w;
            g_cw = -p.theta / e.w;
            g_w = -(p.theta * theta + p.delta * delta) / e.w;
            g_ch = gop[m];
            g_h = p.h_direct + p.delta / e.w;
            g_d0 = p.d0;
            g_d1 = p.d1;
          } else {
            // x = θ w + cw with θ defined implicitly by y = ch + h A(θ) / den(θ): differentiate
            // the forward map instead of the quadratic formula (dθ = (dy - ∂y/∂q dq) / (∂y/∂θ)).
            const T theta = solve_theta(e, x);
            const auto f = spline_vjp(theta, delta, e.h, e.d0, e.d1, T(1), T(0));    // ∂y/∂·
            const auto l = spline_vjp(theta, delta, e.h, e.d0, e.d1, T(0), -glp[m]);  // lad_inv = -lad
            const T lambda = (gop[m] * e.w + l.theta) / f.theta;
            gvp[m] = lambda;
            const T g_delta = -lambda * f.delta + l.delta;
            g_cw = gop[m];
            g_w = gop[m] * theta - g_delta * delta / e.w;
            g_ch = -lambda;
            g_h = -lambda * f.h_direct + g_delta / e.w;
            g_d0 = -lambda * f.d0 + l.d0;
            g_d1 = -lambda * f.d1 + l.d1;
          }
          raw_grads(e, rp + offset, d, c, g_cw, g_w, g_ch, g_h, g_d0, g_d1, g_m);
        }
      });
    });
    return {g_v, g_raw, torch::Tensor(), torch::Tensor()};
  }
};

bool fused_applies(const torch::Tensor& v, const torch::Tensor& params, const SplineShape& s) {
  return v.device().is_cpu() && params.device().is_cpu() && v.scalar_type() == params.scalar_type() &&
         (v.scalar_type() == torch::kFloat || v.scalar_type() == torch::kDouble) && s.bins <= kMaxBins;
}

std::pair<torch::Tensor, torch::Tensor> fused(const torch::Tensor& v, const torch::Tensor& params,
                                              const SplineShape& s, bool inverse) {
  check_arguments(params, s);
  TORCH_CHECK(params.dim() == v.dim() + 1 && params.sizes().slice(0, v.dim()) == v.sizes(),
              "rational-quadratic spline: params ", params.sizes(), " do not match input ", v.sizes());
  // Parameter-major [rows, P, d]: for the coupling layers' [B, d, P] views this is the
  // conditioner's own contiguous output (no copy).
  const int64_t d = v.size(-1);
  auto raw = params.transpose(-1, -2).reshape({-1, 3 * s.bins - 1, d}).contiguous();
  auto r = FusedSpline::apply(v.reshape({-1, d}).contiguous(), raw, s, inverse);
  return {r[0].view(v.sizes()), r[1].view(v.sizes())};
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> rq_spline_forward(const torch::Tensor& x, const torch::Tensor& params,
                                                          const SplineShape& shape) {
  if (fused_applies(x, params, shape)) return fused(x, params, shape, /*inverse=*/false);
  return rq_spline_forward_composite(x, params, shape);
}

std::pair<torch::Tensor, torch::Tensor> rq_spline_inverse(const torch::Tensor& y, const torch::Tensor& params,
                                                          const SplineShape& shape) {
  if (fused_applies(y, params, shape)) return fused(y, params, shape, /*inverse=*/true);
  return rq_spline_inverse_composite(y, params, shape);
}

}  // namespace jeffreys::functional
