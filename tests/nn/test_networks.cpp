// Networks: MADE's autoregressive property (through autograd, not just the masks), MLP, activations.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "jeffreys/nn/activation.h"
#include "jeffreys/nn/made.h"
#include "jeffreys/nn/mlp.h"
#include "support/expect_bijection.h"

namespace nn = jeffreys::nn;

namespace {

struct MadeCase {
  std::string name;
  std::vector<int64_t> order;  // 1-based positions; empty = natural
  int64_t context;
};

class MadeAutoregressive : public ::testing::TestWithParam<MadeCase> {};

TEST_P(MadeAutoregressive, JacobianRespectsOrder) {
  const auto& c = GetParam();
  const int64_t D = 4, P = 3, B = 5;
  torch::manual_seed(11);
  nn::MADE made(nn::MADEOptions(D, P).hidden(16).depth(2).context_features(c.context).order(c.order));
  made->to(torch::kDouble);
  auto position = [&](int64_t i) { return c.order.empty() ? i + 1 : c.order[i]; };

  auto x = torch::randn({B, D}, torch::kDouble).requires_grad_(true);
  torch::Tensor ctx;
  std::vector<torch::Tensor> inputs{x};
  if (c.context > 0) {
    ctx = torch::randn({B, c.context}, torch::kDouble).requires_grad_(true);
    inputs.push_back(ctx);
  }
  auto out = made->forward(x, ctx);
  ASSERT_EQ(out.sizes(), torch::IntArrayRef({B, P * D}));
  for (int64_t p = 0; p < P; ++p) {
    for (int64_t i = 0; i < D; ++i) {
      const int64_t o = p * D + i;
      auto g = torch::autograd::grad({out.select(1, o).sum()}, inputs, {}, /*retain_graph=*/true, false,
                                     /*allow_unused=*/true);
      auto gx = g[0].defined() ? g[0] : torch::zeros_like(x);
      for (int64_t j = 0; j < D; ++j) {
        const double mag = gx.select(1, j).abs().sum().item<double>();
        if (position(j) >= position(i)) {
          EXPECT_EQ(mag, 0.0) << "output " << o << " (feature " << i << ") depends on input " << j;
        } else {
          EXPECT_GT(mag, 0.0) << "output " << o << " (feature " << i << ") ignores input " << j;
        }
      }
      if (c.context > 0) {
        // Every output, the first feature's included, must be able to use the context.
        ASSERT_TRUE(g[1].defined());
        EXPECT_GT(g[1].abs().sum().item<double>(), 0.0) << "output " << o << " ignores the context";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Orders, MadeAutoregressive,
                         ::testing::Values(MadeCase{"natural", {}, 0}, MadeCase{"reversed", {4, 3, 2, 1}, 0},
                                           MadeCase{"shuffled", {3, 1, 4, 2}, 0},
                                           MadeCase{"natural_context", {}, 3},
                                           MadeCase{"reversed_context", {4, 3, 2, 1}, 3}),
                         [](const ::testing::TestParamInfo<MadeCase>& info) { return info.param.name; });

}  // namespace

TEST(MADE, OneFeatureWithContextDependsOnContext) {
  // A 1D conditional autoregressive layer: its only feature must still see the context.
  torch::manual_seed(12);
  nn::MADE made(nn::MADEOptions(1, 2).hidden(8).depth(2).context_features(2));
  made->to(torch::kDouble);
  auto x = torch::randn({4, 1}, torch::kDouble);
  auto c1 = torch::randn({4, 2}, torch::kDouble);
  auto c2 = c1 + 1.0;
  EXPECT_FALSE(torch::allclose(made->forward(x, c1), made->forward(x, c2)));
  // ... and never on its own input.
  EXPECT_TRUE(torch::equal(made->forward(x, c1), made->forward(x + 3.0, c1)));
}

TEST(MADE, ZeroLastGivesZeroOutputAndMasksAreBuffers) {
  nn::MADE made(nn::MADEOptions(3, 2).hidden(8).depth(1).zero_last(true));
  auto out = made->forward(torch::randn({5, 3}));
  EXPECT_TRUE(torch::equal(out, torch::zeros({5, 6})));
  EXPECT_EQ(made->named_buffers().size(), 2u);
  EXPECT_EQ(made->parameters().size(), 4u);
}

TEST(MLP, ShapesContextAndZeroLast) {
  torch::manual_seed(13);
  nn::MLP mlp(nn::MLPOptions(3, 4).hidden(8).depth(2).context_features(2));
  auto x = torch::randn({6, 3});
  auto c = torch::randn({6, 2});
  auto y = mlp->forward(x, c);
  EXPECT_EQ(y.sizes(), torch::IntArrayRef({6, 4}));
  // The context is joined onto the input: same as one MLP over [x, c].
  EXPECT_FALSE(torch::allclose(y, mlp->forward(x, c + 1)));
  nn::MLP z(nn::MLPOptions(3, 4).hidden(8).depth(0).zero_last(true));
  EXPECT_TRUE(torch::equal(z->forward(x), torch::zeros({6, 4})));
  EXPECT_EQ(z->parameters().size(), 2u);
  EXPECT_THROW(nn::MLP(nn::MLPOptions(3, 0)), c10::Error);
}

TEST(MLP, MatchesPlainLinearLayers) {
  torch::manual_seed(14);
  for (auto act : {nn::Activation::silu, nn::Activation::relu, nn::Activation::tanh, nn::Activation::elu,
                   nn::Activation::gelu, nn::Activation::leaky_relu}) {
    SCOPED_TRACE(nn::to_string(act));
    nn::MLP mlp(nn::MLPOptions(3, 2).hidden(8).depth(2).activation(act));
    mlp->to(torch::kDouble);
    auto x = torch::randn({7, 3}, torch::kDouble);
    auto params = mlp->parameters();  // weight0, bias0, weight1, bias1, weight2, bias2
    ASSERT_EQ(params.size(), 6u);
    torch::Tensor h = x;
    for (size_t l = 0; l < 3; ++l) {
      h = torch::nn::functional::linear(h, params[2 * l], params[2 * l + 1]);
      if (l < 2) h = nn::activate(h, act);
    }
    EXPECT_LT(jtest::max_abs_diff(mlp->forward(x), h), 1e-12);
  }
}

TEST(Activation, NamesRoundTripAndValues) {
  for (const char* n : {"silu", "relu", "tanh", "elu", "gelu", "leaky_relu"})
    EXPECT_EQ(nn::to_string(nn::activation_from_string(n)), n);
  try {
    nn::activation_from_string("swish");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("swish"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("silu"), std::string::npos);
  }
  auto x = torch::linspace(-3, 3, 13, torch::kDouble);
  EXPECT_LT(jtest::max_abs_diff(nn::activate(x, nn::Activation::silu), x * torch::sigmoid(x)), 1e-12);
  EXPECT_LT(jtest::max_abs_diff(nn::activate(x, nn::Activation::relu), x.clamp_min(0)), 1e-12);
  EXPECT_LT(jtest::max_abs_diff(nn::activate(x, nn::Activation::tanh), torch::tanh(x)), 1e-12);
  EXPECT_LT(jtest::max_abs_diff(nn::activate(x, nn::Activation::leaky_relu), torch::where(x > 0, x, 0.01 * x)), 1e-12);
  EXPECT_LT(jtest::max_abs_diff(nn::activate(x, nn::Activation::elu), torch::where(x > 0, x, torch::exp(x) - 1)), 1e-12);
  EXPECT_LT(jtest::max_abs_diff(nn::activate(x, nn::Activation::gelu),
                                0.5 * x * (1 + torch::erf(x / std::sqrt(2.0)))), 1e-12);
}
