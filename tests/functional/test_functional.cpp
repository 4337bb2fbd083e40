// Stateless maths: rational-quadratic spline, affine map, MADE masks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "jeffreys/functional/affine.h"
#include "jeffreys/functional/made_masks.h"
#include "jeffreys/functional/rational_quadratic.h"
#include "support/expect_bijection.h"

namespace F = jeffreys::functional;
using jtest::max_abs_diff;

namespace {

const auto kD = torch::TensorOptions().dtype(torch::kDouble);

F::SplineShape shape(int64_t bins = 6, double bound = 3.0) {
  F::SplineShape s;
  s.bins = bins;
  s.bound = bound;
  return s;
}

/// Random spline parameters [n, d, 3K-1], large enough that bins are uneven and slopes far from 1.
torch::Tensor random_params(int64_t n, int64_t d, const F::SplineShape& s) {
  return torch::randn({n, d, F::spline_params_per_dim(s)}, kD) * 1.5;
}

}  // namespace

TEST(RationalQuadraticSpline, ParamsPerDim) {
  EXPECT_EQ(F::spline_params_per_dim(shape(8)), 23);
  EXPECT_EQ(F::spline_params_per_dim(shape(2)), 5);
}

TEST(RationalQuadraticSpline, InverseRecoversInputInsideAndOutside) {
  torch::manual_seed(1);
  const auto s = shape();
  // Uniform over [-5, 5]: about 40% of the points lie in the identity tails outside [-3, 3].
  auto x = torch::rand({200, 3}, kD) * 10 - 5;
  auto p = random_params(200, 3, s);
  auto [y, lad] = F::rq_spline_forward(x, p, s);
  auto [xr, lad_inv] = F::rq_spline_inverse(y, p, s);
  ASSERT_EQ(y.sizes(), x.sizes());
  ASSERT_EQ(lad.sizes(), x.sizes());
  EXPECT_LT(max_abs_diff(xr, x), 1e-6);
  EXPECT_LT(max_abs_diff(lad_inv, -lad), 1e-6);
  // The spline really moves the points inside (otherwise the round trip proves nothing).
  auto inside = x.abs() < s.bound;
  EXPECT_GT((y - x).abs().masked_select(inside).max().item<double>(), 0.1);
}

TEST(RationalQuadraticSpline, ForwardRecoversInputFromOutputSide) {
  torch::manual_seed(2);
  const auto s = shape(8, 2.0);
  auto y = torch::rand({300, 2}, kD) * 6 - 3;
  auto p = random_params(300, 2, s);
  auto [x, lad_inv] = F::rq_spline_inverse(y, p, s);
  auto [yr, lad] = F::rq_spline_forward(x, p, s);
  EXPECT_LT(max_abs_diff(yr, y), 1e-6);
  EXPECT_LT(max_abs_diff(lad, -lad_inv), 1e-6);
}

TEST(RationalQuadraticSpline, LogDerivativeMatchesAutogradAndFiniteDifferences) {
  torch::manual_seed(3);
  const auto s = shape();
  auto x = (torch::rand({100, 2}, kD) * 8 - 4).requires_grad_(true);
  auto p = random_params(100, 2, s);
  auto [y, lad] = F::rq_spline_forward(x, p, s);
  // Element-wise map: d(sum y)/dx is the derivative of each element.
  auto dydx = torch::autograd::grad({y.sum()}, {x})[0];
  ASSERT_TRUE((dydx > 0).all().item<bool>());
  EXPECT_LT(max_abs_diff(torch::log(dydx), lad), 1e-8);

  // Central finite differences (away from the interval ends, where the spline meets its tails).
  torch::NoGradGuard g;
  const double h = 1e-6;
  auto xd = x.detach();
  auto fd = (F::rq_spline_forward(xd + h, p, s).first - F::rq_spline_forward(xd - h, p, s).first) / (2 * h);
  auto away = ((xd.abs() - s.bound).abs() > 1e-3);
  auto rel = ((fd - lad.detach().exp()).abs() / lad.detach().exp()).masked_select(away);
  EXPECT_LT(rel.max().item<double>(), 1e-5);

  // The inverse's log-derivative against autograd too.
  torch::GradMode::set_enabled(true);
  auto yq = (torch::rand({100, 2}, kD) * 8 - 4).requires_grad_(true);
  auto [xq, lad_q] = F::rq_spline_inverse(yq, p, s);
  auto dxdy = torch::autograd::grad({xq.sum()}, {yq})[0];
  EXPECT_LT(max_abs_diff(torch::log(dxdy), lad_q), 1e-8);
}

TEST(RationalQuadraticSpline, MonotoneAndMapsIntervalOntoItself) {
  torch::manual_seed(4);
  const auto s = shape(10, 3.0);
  for (int trial = 0; trial < 5; ++trial) {
    auto p1 = random_params(1, 1, s) * 2;  // steep, uneven bins
    const int64_t n = 4001;
    auto x = torch::linspace(-4, 4, n, kD).unsqueeze(1);
    auto p = p1.expand({n, 1, p1.size(-1)});
    auto [y, lad] = F::rq_spline_forward(x, p, s);
    auto dy = y.narrow(0, 1, n - 1) - y.narrow(0, 0, n - 1);
    EXPECT_TRUE((dy > 0).all().item<bool>()) << "not strictly increasing (trial " << trial << ")";
    // [-B, B] maps onto itself, so the tails join continuously.
    auto ends = torch::tensor({-s.bound, s.bound}, kD).view({2, 1});
    auto [ye, lade] = F::rq_spline_forward(ends, p1.expand({2, 1, p1.size(-1)}), s);
    EXPECT_NEAR(ye[0][0].item<double>(), -s.bound, 1e-12);
    EXPECT_NEAR(ye[1][0].item<double>(), s.bound, 1e-12);
    // Boundary derivatives are 1: the log-derivative is continuous with the tails' 0.
    EXPECT_NEAR(lade[0][0].item<double>(), 0.0, 1e-9);
    EXPECT_NEAR(lade[1][0].item<double>(), 0.0, 1e-9);
  }
}

TEST(RationalQuadraticSpline, IdentityTails) {
  torch::manual_seed(5);
  const auto s = shape(8, 2.0);
  auto x = torch::tensor({-10.0, -2.5, -2.0000001, 2.0000001, 3.0, 50.0}, kD).view({6, 1});
  auto p = random_params(6, 1, s);
  auto [y, lad] = F::rq_spline_forward(x, p, s);
  EXPECT_TRUE(torch::equal(y, x));
  EXPECT_TRUE(torch::equal(lad, torch::zeros_like(lad)));
  auto [xi, ladi] = F::rq_spline_inverse(x, p, s);
  EXPECT_TRUE(torch::equal(xi, x));
  EXPECT_TRUE(torch::equal(ladi, torch::zeros_like(ladi)));
}

namespace {
/// Values and gradients (on the input and on every raw parameter) of one map, for the weighted sum
/// Σ a·out + b·lad, so that both outputs' backward passes are exercised.
struct SplineEval {
  torch::Tensor out, lad, g_in, g_params;
};
template <typename Map>
SplineEval eval_with_grads(Map map, const torch::Tensor& v0, const torch::Tensor& p0, const torch::Tensor& a,
                           const torch::Tensor& b) {
  auto v = v0.clone().requires_grad_(true);
  auto p = p0.clone().requires_grad_(true);
  auto [out, lad] = map(v, p);
  auto g = torch::autograd::grad({(out * a).sum() + (lad * b).sum()}, {v, p});
  return {out.detach(), lad.detach(), g[0], g[1]};
}
}  // namespace

// The fused CPU kernel against the composite tensor-op path: same values, same gradients, in both
// directions, in double and in float, with points in the identity tails and exactly on the ends.
// The element counts (192, 13, 105) leave ragged ends for 4-, 8- and 16-float vectors, and with
// d = 5 a vector's elements come from two or three rows.
TEST(RationalQuadraticSpline, FusedKernelMatchesCompositeValuesAndGradients) {
  torch::manual_seed(7);
  for (auto dtype : {torch::kDouble, torch::kFloat}) {
    const double tol = dtype == torch::kDouble ? 1e-9 : 2e-3;
    for (auto [rows, d] : {std::pair<int64_t, int64_t>{64, 3}, {13, 1}, {21, 5}}) {
      for (int64_t bins : {2, 5, 10}) {
        const auto s = shape(bins, 3.0);
        const auto o = torch::TensorOptions().dtype(dtype);
        auto v = torch::rand({rows, d}, o) * 8 - 4;
        v.view(-1)[0] = -3.0, v.view(-1)[1] = 3.0, v.view(-1)[2] = 0.0;
        auto p = (torch::randn({rows, d, F::spline_params_per_dim(s)}, kD) * 1.5).to(dtype);
        auto a = torch::randn({rows, d}, o), b = torch::randn({rows, d}, o);
        for (bool inverse : {false, true}) {
          auto fused = eval_with_grads(
              [&](const torch::Tensor& x, const torch::Tensor& q) {
                return inverse ? F::rq_spline_inverse(x, q, s) : F::rq_spline_forward(x, q, s);
              },
              v, p, a, b);
          auto ref = eval_with_grads(
              [&](const torch::Tensor& x, const torch::Tensor& q) {
                return inverse ? F::rq_spline_inverse_composite(x, q, s) : F::rq_spline_forward_composite(x, q, s);
              },
              v, p, a, b);
          const std::string where = std::string(inverse ? "inverse" : "forward") + ", bins " + std::to_string(bins) +
                                    ", " + std::to_string(rows) + " x " + std::to_string(d) +
                                    (dtype == torch::kDouble ? ", double" : ", float");
          EXPECT_LT(max_abs_diff(fused.out, ref.out), tol) << where;
          EXPECT_LT(max_abs_diff(fused.lad, ref.lad), tol) << where;
          // Gradients relative to their largest value: where the spline is steep, float rounding of
          // the bin fractions alone moves 1/slope by more than any absolute tolerance.
          const double gi = 1 + ref.g_in.abs().max().item<double>(), gp = 1 + ref.g_params.abs().max().item<double>();
          EXPECT_LT(max_abs_diff(fused.g_in, ref.g_in) / gi, tol * 10) << where << ", largest " << gi;
          EXPECT_LT(max_abs_diff(fused.g_params, ref.g_params) / gp, tol * 10) << where << ", largest " << gp;
          // The comparison has teeth: the gradients are far from zero.
          EXPECT_GT(ref.g_params.abs().max().item<double>(), 0.1) << where;
        }
      }
    }
  }
}

// The float kernel (several elements a vector) against the double one (one at a time, the same
// code) as the reference, at 40 times tighter tolerances than the float-against-composite test
// above, so that a lane mixed up or a poor exp or log shows. On these inputs LibTorch's own float
// operators (the composite path) are off by up to 1e-5 on values and 4e-5 on gradients, the float
// kernel by up to 2e-5 and 1e-4 (the steepest bins amplify the knots' rounding).
TEST(RationalQuadraticSpline, FloatKernelAgreesWithDoubleKernel) {
  torch::manual_seed(10);
  const auto s = shape(10, 3.0);
  auto v = torch::rand({37, 5}, kD) * 6.4 - 3.2;
  auto p = torch::randn({37, 5, F::spline_params_per_dim(s)}, kD) * 1.5;
  auto a = torch::randn({37, 5}, kD), b = torch::randn({37, 5}, kD);
  auto as_float = [](const torch::Tensor& t) { return t.to(torch::kFloat); };
  auto err = [](const torch::Tensor& x, const torch::Tensor& r) {
    return max_abs_diff(x.to(kD), r) / (1 + r.abs().max().item<double>());
  };
  for (bool inverse : {false, true}) {
    auto fused = [&](const torch::Tensor& x, const torch::Tensor& q) {
      return inverse ? F::rq_spline_inverse(x, q, s) : F::rq_spline_forward(x, q, s);
    };
    auto ref = eval_with_grads(fused, v, p, a, b);
    auto k = eval_with_grads(fused, as_float(v), as_float(p), as_float(a), as_float(b));
    const char* where = inverse ? "inverse" : "forward";
    EXPECT_LT(err(k.out, ref.out), 5e-5) << where;
    EXPECT_LT(err(k.lad, ref.lad), 5e-5) << where;
    EXPECT_LT(err(k.g_in, ref.g_in), 5e-4) << where;
    EXPECT_LT(err(k.g_params, ref.g_params), 5e-4) << where;
  }
}

// A fused and a composite flow step give the same parameter gradients through a whole network
// (non-contiguous parameter views, as the coupling layers produce them).
TEST(RationalQuadraticSpline, FusedKernelAcceptsStridedParameterViews) {
  torch::manual_seed(8);
  const auto s = shape(8, 3.0);
  const int64_t P = F::spline_params_per_dim(s);
  auto raw = torch::randn({32, P, 4}, kD).requires_grad_(true);
  auto x = torch::randn({32, 4}, kD) * 2;
  auto pv = raw.transpose(1, 2);  // [32, 4, P], not contiguous
  ASSERT_FALSE(pv.is_contiguous());
  auto [y1, l1] = F::rq_spline_forward(x, pv, s);
  auto g1 = torch::autograd::grad({y1.sum() + l1.sum()}, {raw})[0];
  auto [y2, l2] = F::rq_spline_forward_composite(x, pv, s);
  auto g2 = torch::autograd::grad({y2.sum() + l2.sum()}, {raw})[0];
  EXPECT_LT(max_abs_diff(y1, y2), 1e-10);
  EXPECT_LT(max_abs_diff(g1, g2), 1e-9);
}

// Large enough to be split over intra-op threads: the split changes nothing.
TEST(RationalQuadraticSpline, FusedKernelGivesTheSameResultOnTwoThreads) {
  torch::manual_seed(9);
  const auto s = shape(8, 3.0);
  auto x = torch::randn({20000, 3}, kD) * 2;
  auto p = random_params(20000, 3, s);
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  auto [y2, l2] = F::rq_spline_inverse(x, p, s);
  at::set_num_threads(1);
  auto [y1, l1] = F::rq_spline_inverse(x, p, s);
  at::set_num_threads(before);
  EXPECT_TRUE(torch::equal(y1, y2));
  EXPECT_TRUE(torch::equal(l1, l2));
  auto [yc, lc] = F::rq_spline_inverse_composite(x, p, s);
  EXPECT_LT(max_abs_diff(y2, yc), 1e-9);
}

TEST(RationalQuadraticSpline, RejectsWrongParameterCount) {
  const auto s = shape(8);
  auto x = torch::zeros({3, 2}, kD);
  auto p = torch::zeros({3, 2, 20}, kD);
  EXPECT_THROW(F::rq_spline_forward(x, p, s), c10::Error);
  EXPECT_THROW(F::rq_spline_inverse(x, p, s), c10::Error);
}

TEST(Affine, ForwardMatchesFormulaAndInverts) {
  torch::manual_seed(6);
  auto x = torch::randn({10, 3}, kD);
  auto raw = torch::randn({10, 3}, kD) * 3;
  auto t = torch::randn({10, 3}, kD);
  for (double clamp : {1.0, 2.5, 0.0}) {
    SCOPED_TRACE("clamp " + std::to_string(clamp));
    auto s = clamp > 0 ? clamp * torch::tanh(raw / clamp) : raw;
    auto [z, lad] = F::affine_forward(x, raw, t, clamp);
    EXPECT_LT(max_abs_diff(z, x * torch::exp(s) + t), 1e-12);
    EXPECT_LT(max_abs_diff(lad, s), 1e-12);
    if (clamp > 0) {
      EXPECT_LE(lad.abs().max().item<double>(), clamp);
    }
    auto [xr, lad_inv] = F::affine_inverse(z, raw, t, clamp);
    EXPECT_LT(max_abs_diff(xr, x), 1e-12);
    EXPECT_LT(max_abs_diff(lad_inv, -lad), 1e-12);
  }
}

namespace {
/// Number of paths from each input to each output of a masked MLP: the product of its masks.
torch::Tensor connectivity(const std::vector<torch::Tensor>& masks) {
  auto c = masks.front().to(torch::kDouble);
  for (size_t l = 1; l < masks.size(); ++l) c = torch::mm(masks[l].to(torch::kDouble), c);
  return c;
}
}  // namespace

TEST(MadeMasks, ShapesAndBinaryEntries) {
  auto m = F::made_masks(3, 2, {8, 7}, 4);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].sizes(), torch::IntArrayRef({8, 5}));
  EXPECT_EQ(m[1].sizes(), torch::IntArrayRef({7, 8}));
  EXPECT_EQ(m[2].sizes(), torch::IntArrayRef({12, 7}));
  for (const auto& t : m) EXPECT_TRUE(((t == 0) | (t == 1)).all().item<bool>());
  auto m1 = F::made_masks(4, 0, {16}, 2);
  ASSERT_EQ(m1.size(), 2u);
  EXPECT_EQ(m1[0].sizes(), torch::IntArrayRef({16, 4}));
  EXPECT_EQ(m1[1].sizes(), torch::IntArrayRef({8, 16}));
  EXPECT_THROW(F::made_masks(3, 0, {8}, 2, {1, 2}), c10::Error);
}

TEST(MadeMasks, ConnectivityIsExactlyTheAutoregressiveOrder) {
  for (const std::vector<int64_t>& order : {std::vector<int64_t>{}, std::vector<int64_t>{4, 3, 2, 1},
                                            std::vector<int64_t>{2, 4, 1, 3}}) {
    for (int64_t ctx : {0, 2}) {
      const int64_t D = 4, P = 3;
      auto c = connectivity(F::made_masks(D, ctx, {10, 10}, P, order));
      ASSERT_EQ(c.sizes(), torch::IntArrayRef({P * D, D + ctx}));
      for (int64_t p = 0; p < P; ++p)
        for (int64_t i = 0; i < D; ++i) {
          const int64_t pos_i = order.empty() ? i + 1 : order[i];
          for (int64_t j = 0; j < D; ++j) {
            const int64_t pos_j = order.empty() ? j + 1 : order[j];
            const double paths = c[p * D + i][j].item<double>();
            // Connected exactly when j comes strictly before i.
            if (pos_j < pos_i) {
              EXPECT_GT(paths, 0) << "output " << p * D + i << " cannot see input " << j;
            } else {
              EXPECT_EQ(paths, 0) << "output " << p * D + i << " sees input " << j;
            }
          }
          // Context reaches every output, including the first feature in the order.
          for (int64_t k = 0; k < ctx; ++k)
            EXPECT_GT(c[p * D + i][D + k].item<double>(), 0) << "output " << p * D + i << " cannot see context " << k;
        }
    }
  }
}
