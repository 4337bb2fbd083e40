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
// Fused CPU path. The softmax and softplus that turn raw parameters into bin fractions and knot
// derivatives stay LibTorch ops (vectorised, with their own backward); everything after them
// (cumulative knots, bin search, gathers, the rational-quadratic formula, its inverse and all
// their derivatives) is one pass per element forward and one backward, instead of some forty
// tensor operations over [n, d] and [n, d, bins] each way.
namespace jeffreys::functional {
namespace {

constexpr int64_t kMaxBins = 64;

/// The selected bin of one element: left knot and size on each axis, derivatives at both ends.
template <typename T>
struct Bin {
  int64_t k;
  T cw, w, ch, h, d0, d1;
};

/// Knots of one axis from its bin fractions, ends pinned at ±B as in the composite path.
template <typename T>
inline void knots(const T* frac, int64_t stride, int64_t K, T B, T* out) {
  double acc = 0;
  out[0] = -B;
  for (int64_t j = 1; j < K; ++j) {
    acc += frac[(j - 1) * stride];
    out[j] = static_cast<T>(acc) * (2 * B) - B;
  }
  out[K] = B;
}

template <typename T>
inline Bin<T> find_bin(T v, const T* fw, const T* fh, const T* dint, int64_t stride, int64_t K, T B,
                       bool by_height) {
  T kw[kMaxBins + 1], kh[kMaxBins + 1];
  knots(fw, stride, K, B, kw);
  knots(fh, stride, K, B, kh);
  const T* edges = by_height ? kh : kw;
  int64_t k = 0;
  for (int64_t j = 1; j < K; ++j) k += v >= edges[j];
  Bin<T> b;
  b.k = k;
  b.cw = kw[k];
  b.w = kw[k + 1] - kw[k];
  b.ch = kh[k];
  b.h = kh[k + 1] - kh[k];
  b.d0 = k == 0 ? T(1) : dint[(k - 1) * stride];
  b.d1 = k == K - 1 ? T(1) : dint[k * stride];
  return b;
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
inline T solve_theta(const Bin<T>& b, T yc) {
  const T delta = b.h / b.w, dy = yc - b.ch, ss = b.d0 + b.d1 - 2 * delta;
  const T a = dy * ss + b.h * (delta - b.d0);
  const T bq = b.h * b.d0 - dy * ss;
  const T c = -delta * dy;
  const T disc = std::max(bq * bq - 4 * a * c, T(0));
  return (2 * c) / (-bq - std::sqrt(disc));
}

/// Gradients on the bin's quantities, pushed back to the fractions and interior derivatives.
/// Knot j (1 <= j < K) is 2B Σ_{i<j} frac_i - B; knots 0 and K are pinned constants.
template <typename T>
inline void scatter_bin_grads(const Bin<T>& b, int64_t stride, int64_t K, T B, T g_cw, T g_w, T g_ch, T g_h,
                              T g_d0, T g_d1, T* gfw, T* gfh, T* gd) {
  const T g_lo_w = g_cw - g_w, g_lo_h = g_ch - g_h;  // on knot k (through the left end and the size)
  const int64_t k = b.k;
  for (int64_t i = 0; i < K; ++i) {
    T sw = 0, sh = 0;
    if (k >= 1 && i < k) sw += g_lo_w, sh += g_lo_h;
    if (k + 1 <= K - 1 && i < k + 1) sw += g_w, sh += g_h;
    gfw[i * stride] = 2 * B * sw;
    gfh[i * stride] = 2 * B * sh;
  }
  for (int64_t j = 0; j < K - 1; ++j) gd[j * stride] = 0;
  if (k >= 1) gd[(k - 1) * stride] += g_d0;
  if (k <= K - 2) gd[k * stride] += g_d1;
}

class FusedSpline : public torch::autograd::Function<FusedSpline> {
 public:
  /// v [N, d]; fw, fh [N, K, d] bin fractions; dint [N, K-1, d] interior derivatives; all contiguous.
  /// Parameter-major like the conditioners' output, so that no transposed copy is needed.
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& v,
                                                const torch::Tensor& fw, const torch::Tensor& fh,
                                                const torch::Tensor& dint, double bound, bool inverse) {
    const int64_t N = v.size(0), d = v.size(1), K = fw.size(1);
    auto out = torch::empty_like(v);
    auto lad = torch::empty_like(v);
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "rq_spline_fused_forward", [&] {
      using T = scalar_t;
      const T B = static_cast<T>(bound);
      const T* vp = v.data_ptr<T>();
      const T* fwp = fw.data_ptr<T>();
      const T* fhp = fh.data_ptr<T>();
      const T* dp = dint.data_ptr<T>();
      T* op = out.data_ptr<T>();
      T* lp = lad.data_ptr<T>();
      // Elements are independent: split them over the intra-op threads (one thread: a plain loop).
      at::parallel_for(0, N * d, 4096, [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; ++m) {
        const T x = vp[m];
        if (!(x >= -B && x <= B)) {
          op[m] = x;
          lp[m] = 0;
          continue;
        }
        const int64_t n = m / d, j = m % d;
        const auto b = find_bin(x, fwp + n * K * d + j, fhp + n * K * d + j, dp + n * (K - 1) * d + j, d, K, B, inverse);
        const T delta = b.h / b.w;
        if (!inverse) {
          const T theta = (x - b.cw) / b.w, t1 = theta * (1 - theta);
          const T den = delta + (b.d0 + b.d1 - 2 * delta) * t1;
          op[m] = b.ch + b.h * (delta * theta * theta + b.d0 * t1) / den;
          lp[m] = log_derivative(theta, delta, b.d0, b.d1);
        } else {
          const T theta = solve_theta(b, x);
          op[m] = theta * b.w + b.cw;
          lp[m] = -log_derivative(theta, delta, b.d0, b.d1);
        }
      }
      });
    });
    ctx->save_for_backward({v, fw, fh, dint});
    ctx->saved_data["bound"] = bound;
    ctx->saved_data["inverse"] = inverse;
    return {out, lad};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &v = saved[0], &fw = saved[1], &fh = saved[2], &dint = saved[3];
    const double bound = ctx->saved_data["bound"].toDouble();
    const bool inverse = ctx->saved_data["inverse"].toBool();
    const int64_t N = v.size(0), d = v.size(1), K = fw.size(1);
    auto g_out = grads[0].defined() ? grads[0].contiguous() : torch::zeros_like(v);
    auto g_lad = grads[1].defined() ? grads[1].contiguous() : torch::zeros_like(v);
    auto g_v = torch::empty_like(v);
    auto g_fw = torch::empty_like(fw);
    auto g_fh = torch::empty_like(fh);
    auto g_d = torch::empty_like(dint);
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "rq_spline_fused_backward", [&] {
      using T = scalar_t;
      const T B = static_cast<T>(bound);
      const T* vp = v.data_ptr<T>();
      const T* fwp = fw.data_ptr<T>();
      const T* fhp = fh.data_ptr<T>();
      const T* dp = dint.data_ptr<T>();
      const T* gop = g_out.data_ptr<T>();
      const T* glp = g_lad.data_ptr<T>();
      T* gvp = g_v.data_ptr<T>();
      T* gfwp = g_fw.data_ptr<T>();
      T* gfhp = g_fh.data_ptr<T>();
      T* gdp = g_d.data_ptr<T>();
      // Elements are independent: split them over the intra-op threads (one thread: a plain loop).
      at::parallel_for(0, N * d, 4096, [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; ++m) {
        const T x = vp[m];
        const int64_t n = m / d, j = m % d;
        T* gfw_m = gfwp + n * K * d + j;
        T* gfh_m = gfhp + n * K * d + j;
        T* gd_m = gdp + n * (K - 1) * d + j;
        if (!(x >= -B && x <= B)) {  // identity tails: the parameters get no gradient
          gvp[m] = gop[m];
          for (int64_t i = 0; i < K; ++i) gfw_m[i * d] = 0, gfh_m[i * d] = 0;
          for (int64_t i = 0; i < K - 1; ++i) gd_m[i * d] = 0;
          continue;
        }
        const auto b = find_bin(x, fwp + n * K * d + j, fhp + n * K * d + j, dp + n * (K - 1) * d + j, d, K, B, inverse);
        const T delta = b.h / b.w;
        T g_cw, g_w, g_ch, g_h, g_d0, g_d1;
        if (!inverse) {
          const T theta = (x - b.cw) / b.w;
          const auto p = spline_vjp(theta, delta, b.h, b.d0, b.d1, gop[m], glp[m]);
          gvp[m] = p.theta / b.w;
          g_cw = -p.theta / b.w;
          g_w = -(p.theta * theta + p.delta * delta) / b.w;
          g_ch = gop[m];
          g_h = p.h_direct + p.delta / b.w;
          g_d0 = p.d0;
          g_d1 = p.d1;
        } else {
          // x = θ w + cw with θ defined implicitly by y = ch + h A(θ) / den(θ): differentiate
          // the forward map instead of the quadratic formula (dθ = (dy - ∂y/∂q dq) / (∂y/∂θ)).
          const T theta = solve_theta(b, x);
          const auto f = spline_vjp(theta, delta, b.h, b.d0, b.d1, T(1), T(0));   // ∂y/∂·
          const auto l = spline_vjp(theta, delta, b.h, b.d0, b.d1, T(0), -glp[m]);  // lad_inv = -lad
          const T lambda = (gop[m] * b.w + l.theta) / f.theta;
          gvp[m] = lambda;
          const T g_delta = -lambda * f.delta + l.delta;
          g_cw = gop[m];
          g_w = gop[m] * theta - g_delta * delta / b.w;
          g_ch = -lambda;
          g_h = -lambda * f.h_direct + g_delta / b.w;
          g_d0 = -lambda * f.d0 + l.d0;
          g_d1 = -lambda * f.d1 + l.d1;
        }
        scatter_bin_grads(b, d, K, B, g_cw, g_w, g_ch, g_h, g_d0, g_d1, gfw_m, gfh_m, gd_m);
      }
      });
    });
    return {g_v, g_fw, g_fh, g_d, torch::Tensor(), torch::Tensor()};
  }
};

bool fused_applies(const torch::Tensor& v, const torch::Tensor& params, const SplineShape& s) {
  return v.device().is_cpu() && params.device().is_cpu() && v.scalar_type() == params.scalar_type() &&
         (v.scalar_type() == torch::kFloat || v.scalar_type() == torch::kDouble) && s.bins <= kMaxBins;
}

std::pair<torch::Tensor, torch::Tensor> fused(const torch::Tensor& v, const torch::Tensor& params,
                                              const SplineShape& s, bool inverse) {
  check_arguments(params, s);
  const int64_t K = s.bins;
  TORCH_CHECK(params.dim() == v.dim() + 1 && params.sizes().slice(0, v.dim()) == v.sizes(),
              "rational-quadratic spline: params ", params.sizes(), " do not match input ", v.sizes());
  // Parameter-major [rows, P, d]: for the coupling layers' [B, d, P] views this is the conditioner's
  // own contiguous output, and the softmax then runs over contiguous blocks of d values.
  const int64_t d = v.size(-1);
  auto pm = params.transpose(-1, -2).reshape({-1, 3 * K - 1, d});
  auto fractions = [&](int64_t start, double min_size) {
    return torch::softmax(pm.narrow(1, start, K).contiguous(), 1) * (1.0 - min_size * K) + min_size;
  };
  auto fw = fractions(0, s.min_bin_width);
  auto fh = fractions(K, s.min_bin_height);
  auto dint = torch::nn::functional::softplus(pm.narrow(1, 2 * K, K - 1) + unit_derivative_shift(s)) + s.min_derivative;
  auto r = FusedSpline::apply(v.reshape({-1, d}).contiguous(), fw.contiguous(), fh.contiguous(), dint.contiguous(),
                              s.bound, inverse);
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
