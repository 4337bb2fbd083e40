#include "jeffreys/functional/rational_quadratic.h"

#include <torch/torch.h>

#include <cmath>

#include "rq_spline_kernel.h"

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
// element forward and one backward (rq_spline_kernel.cpp), instead of some fifty tensor operations
// over [n, d] and [n, d, bins] each way.
namespace jeffreys::functional {
namespace {

SplineConstants kernel_constants(const SplineShape& s) {
  return {s.bins, s.bound, s.min_bin_width, s.min_bin_height, s.min_derivative, unit_derivative_shift(s)};
}

class FusedSpline : public torch::autograd::Function<FusedSpline> {
 public:
  /// v [N, d]; raw [N, 3K-1, d], contiguous: parameter-major like the conditioners' output, so
  /// that no transposed copy is needed.
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& v,
                                                const torch::Tensor& raw, SplineShape shape, bool inverse) {
    const int64_t N = v.size(0), d = v.size(1);
    auto out = torch::empty_like(v);
    auto lad = torch::empty_like(v);
    const auto c = kernel_constants(shape);
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "rq_spline_fused_forward", [&] {
      const scalar_t* vp = v.data_ptr<scalar_t>();
      const scalar_t* rp = raw.data_ptr<scalar_t>();
      scalar_t* op = out.data_ptr<scalar_t>();
      scalar_t* lp = lad.data_ptr<scalar_t>();
      // Elements are independent: split them over the intra-op threads (one thread: one call).
      at::parallel_for(0, N * d, 2048, [&](int64_t m0, int64_t m1) {
        rq_spline_kernel(vp, rp, d, m0, m1, c, inverse, op, lp);
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
    const int64_t N = v.size(0), d = v.size(1);
    auto g_out = grads[0].defined() ? grads[0].contiguous() : torch::zeros_like(v);
    auto g_lad = grads[1].defined() ? grads[1].contiguous() : torch::zeros_like(v);
    auto g_v = torch::empty_like(v);
    auto g_raw = torch::empty_like(raw);
    const auto c = kernel_constants(shape);
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "rq_spline_fused_backward", [&] {
      const scalar_t* vp = v.data_ptr<scalar_t>();
      const scalar_t* rp = raw.data_ptr<scalar_t>();
      const scalar_t* gop = g_out.data_ptr<scalar_t>();
      const scalar_t* glp = g_lad.data_ptr<scalar_t>();
      scalar_t* gvp = g_v.data_ptr<scalar_t>();
      scalar_t* grp = g_raw.data_ptr<scalar_t>();
      at::parallel_for(0, N * d, 2048, [&](int64_t m0, int64_t m1) {
        rq_spline_kernel_backward(vp, rp, gop, glp, d, m0, m1, c, inverse, gvp, grp);
      });
    });
    return {g_v, g_raw, torch::Tensor(), torch::Tensor()};
  }
};

bool fused_applies(const torch::Tensor& v, const torch::Tensor& params, const SplineShape& s) {
  return v.device().is_cpu() && params.device().is_cpu() && v.scalar_type() == params.scalar_type() &&
         (v.scalar_type() == torch::kFloat || v.scalar_type() == torch::kDouble) && s.bins <= kKernelMaxBins;
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
