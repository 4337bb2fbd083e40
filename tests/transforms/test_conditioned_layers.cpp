// Bijection contract for the conditioned layers: coupling and autoregressive, affine and spline,
// both halves / both orders, with and without a context.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "jeffreys/transforms/autoregressive.h"
#include "jeffreys/transforms/coupling.h"
#include "jeffreys/transforms/elementwise.h"
#include "support/expect_bijection.h"

namespace T = jeffreys::transforms;

namespace {

const auto kD = torch::TensorOptions().dtype(torch::kDouble);
constexpr double kBound = 3.0;

struct LayerCase {
  bool coupling;
  bool spline;
  bool flip;  // coupling: swap; autoregressive: reversed order
  int64_t features;
  int64_t context;
};

std::string case_name(const ::testing::TestParamInfo<LayerCase>& info) {
  const auto& c = info.param;
  return std::string(c.coupling ? "Coupling" : "Autoregressive") + (c.spline ? "Spline" : "Affine") +
         (c.flip ? (c.coupling ? "Swap" : "Reversed") : "") + "_" + std::to_string(c.features) + "D" +
         (c.context ? "_ctx" + std::to_string(c.context) : "");
}

T::Elementwise elementwise(bool spline) {
  T::Elementwise ew;
  ew.kind = spline ? T::ElementwiseKind::rational_quadratic : T::ElementwiseKind::affine;
  ew.scale_clamp = 2.0;
  ew.spline.bins = 6;
  ew.spline.bound = kBound;
  return ew;
}

/// A layer in double precision with every parameter moved away from its initialisation.
T::TransformPtr make_layer(const LayerCase& c) {
  T::TransformPtr t;
  if (c.coupling) {
    t = std::make_shared<T::CouplingImpl>(T::CouplingOptions(c.features)
                                              .context_features(c.context)
                                              .swap(c.flip)
                                              .elementwise(elementwise(c.spline))
                                              .hidden(16)
                                              .depth(2));
  } else {
    std::vector<int64_t> order;
    if (c.flip)
      for (int64_t i = 0; i < c.features; ++i) order.push_back(c.features - i);
    t = std::make_shared<T::AutoregressiveImpl>(T::AutoregressiveOptions(c.features)
                                                    .context_features(c.context)
                                                    .elementwise(elementwise(c.spline))
                                                    .hidden(16)
                                                    .depth(2)
                                                    .order(order));
  }
  t->to(torch::kDouble);
  jtest::randomise_parameters(*t, 0.3);
  return t;
}

class ConditionedLayer : public ::testing::TestWithParam<LayerCase> {};

TEST_P(ConditionedLayer, BijectionContract) {
  const auto& c = GetParam();
  torch::manual_seed(21);
  auto layer = make_layer(c);
  // Spread wide enough that spline layers see points on both sides of ±bound; the last row lies
  // entirely in the identity tails.
  auto x = torch::randn({6, c.features}, kD) * 2.0;
  auto z = torch::randn({6, c.features}, kD) * 2.0;
  x[5].fill_(kBound + 1.5);
  z[5].fill_(-kBound - 2.0);
  torch::Tensor ctx = c.context ? torch::randn({6, c.context}, kD) : torch::Tensor();
  jtest::expect_bijection<T::TransformImpl>(layer, x, z, ctx, [&] { return make_layer(c); });
}

TEST_P(ConditionedLayer, IsNotTheIdentityAndUsesContext) {
  const auto& c = GetParam();
  torch::manual_seed(22);
  auto layer = make_layer(c);
  torch::NoGradGuard g;
  auto x = torch::rand({8, c.features}, kD) * 2 - 1;  // inside the spline interval
  torch::Tensor ctx = c.context ? torch::randn({8, c.context}, kD) : torch::Tensor();
  auto [z, ld] = layer->forward(x, ctx);
  EXPECT_GT(jtest::max_abs_diff(z, x), 1e-3);
  EXPECT_GT(ld.abs().max().item<double>(), 1e-3);
  if (c.context) {
    auto [z2, ld2] = layer->forward(x, ctx + 1.0);
    EXPECT_GT(jtest::max_abs_diff(z2, z), 1e-6) << "the context does not change the output";
  }
}

class SplineLayer : public ::testing::TestWithParam<LayerCase> {};

TEST_P(SplineLayer, TailsAreIdentity) {
  const auto& c = GetParam();
  torch::manual_seed(23);
  auto layer = make_layer(c);
  torch::NoGradGuard g;
  // Every coordinate outside [-bound, bound]: output equals input, log-det exactly 0.
  auto sign = torch::where(torch::rand({10, c.features}, kD) < 0.5, -1.0, 1.0);
  auto x = sign * (kBound + 0.01 + torch::rand({10, c.features}, kD) * 5);
  torch::Tensor ctx = c.context ? torch::randn({10, c.context}, kD) : torch::Tensor();
  auto [z, ld] = layer->forward(x, ctx);
  EXPECT_TRUE(torch::equal(z, x));
  EXPECT_TRUE(torch::equal(ld, torch::zeros({10}, kD)));
  auto [xi, ldi] = layer->inverse(x, ctx);
  EXPECT_TRUE(torch::equal(xi, x));
  EXPECT_TRUE(torch::equal(ldi, torch::zeros({10}, kD)));
}

std::vector<LayerCase> all_cases() {
  std::vector<LayerCase> cases;
  for (bool coupling : {true, false})
    for (bool spline : {false, true})
      for (bool flip : {false, true})
        for (int64_t d : {2, 5}) cases.push_back({coupling, spline, flip, d, 0});
  // Conditional layers.
  for (bool coupling : {true, false})
    for (bool spline : {false, true}) cases.push_back({coupling, spline, !coupling, 3, 3});
  return cases;
}

std::vector<LayerCase> spline_cases() {
  std::vector<LayerCase> cases;
  for (const auto& c : all_cases())
    if (c.spline) cases.push_back(c);
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Layers, ConditionedLayer, ::testing::ValuesIn(all_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Layers, SplineLayer, ::testing::ValuesIn(spline_cases()), case_name);

}  // namespace

TEST(Coupling, SplitsAsDocumented) {
  // swap=false: the first floor(D/2) features condition (and pass through); swap=true: the last ceil(D/2).
  torch::manual_seed(24);
  for (bool swap : {false, true}) {
    T::CouplingImpl layer(T::CouplingOptions(5).swap(swap).hidden(8));
    layer.to(torch::kDouble);
    jtest::randomise_parameters(layer);
    torch::NoGradGuard g;
    auto x = torch::randn({4, 5}, kD);
    auto z = layer.forward(x).first;
    auto kept = swap ? torch::indexing::Slice(2, 5) : torch::indexing::Slice(0, 2);
    auto moved = swap ? torch::indexing::Slice(0, 2) : torch::indexing::Slice(2, 5);
    EXPECT_TRUE(torch::equal(z.index({torch::indexing::Slice(), kept}), x.index({torch::indexing::Slice(), kept})));
    EXPECT_GT(jtest::max_abs_diff(z.index({torch::indexing::Slice(), moved}), x.index({torch::indexing::Slice(), moved})),
              1e-3);
  }
  EXPECT_THROW(T::CouplingImpl(T::CouplingOptions(1)), c10::Error);
}

TEST(Coupling, ZeroInitIsIdentity) {
  for (bool spline : {false, true}) {
    T::CouplingImpl layer(T::CouplingOptions(4).elementwise(elementwise(spline)).hidden(8).zero_init(true));
    auto x = torch::randn({5, 4});
    auto [z, ld] = layer.forward(x);
    EXPECT_LT(jtest::max_abs_diff(z, x), 1e-5);
    EXPECT_LT(ld.abs().max().item<double>(), 1e-5);
  }
}

TEST(Elementwise, ParamsPerDimAndNames) {
  EXPECT_EQ(elementwise(false).params_per_dim(), 2);
  EXPECT_EQ(elementwise(true).params_per_dim(), 17);
  EXPECT_EQ(T::elementwise_from_string("affine"), T::ElementwiseKind::affine);
  EXPECT_EQ(T::elementwise_from_string("spline"), T::ElementwiseKind::rational_quadratic);
  EXPECT_THROW(T::elementwise_from_string("cubic"), std::invalid_argument);
}
