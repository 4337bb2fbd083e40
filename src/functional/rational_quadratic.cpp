#include "jeffreys/functional/rational_quadratic.h"

#include <torch/torch.h>

#include <cmath>

namespace jeffreys::functional {
namespace {

/// Knot positions, bin sizes, knot derivatives and the bin that each input falls in.
struct Knots {
  torch::Tensor cum_w, w, cum_h, h, delta, d_lo, d_hi;
};

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
  TORCH_CHECK(params.size(-1) == 3 * K - 1, "rational-quadratic spline: expected ", 3 * K - 1,
              " parameters per dimension (bins = ", K, "), got ", params.size(-1));
  TORCH_CHECK(s.min_bin_width * K < 1.0 && s.min_bin_height * K < 1.0,
              "rational-quadratic spline: min_bin_width/height times bins must be < 1");
  TORCH_CHECK(s.min_derivative >= 0 && s.min_derivative < 1,
              "rational-quadratic spline: min_derivative must be in [0, 1), got ", s.min_derivative);
  torch::Tensor widths, heights;
  auto cum_w = normalised_bins(params.narrow(-1, 0, K), s.min_bin_width, s.bound, &widths);
  auto cum_h = normalised_bins(params.narrow(-1, K, K), s.min_bin_height, s.bound, &heights);
  // Interior derivatives are positive; the boundary ones are 1 to match the identity tails. The
  // softplus is shifted so that a raw 0 gives derivative 1: zero parameters (zero_init) then give
  // equal bins and unit slopes, i.e. the identity.
  const double unit_shift = std::log(std::expm1(1.0 - s.min_derivative));
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

std::pair<torch::Tensor, torch::Tensor> rq_spline_forward(const torch::Tensor& x, const torch::Tensor& params,
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

std::pair<torch::Tensor, torch::Tensor> rq_spline_inverse(const torch::Tensor& y, const torch::Tensor& params,
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
