// The fused CPU kernels (Linear+SiLU, affine coupling) against LibTorch's composite operators:
// same values and same gradients, so the speed work changes no mathematics.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <jeffreys/jeffreys.h>

namespace {

std::vector<torch::Tensor> grads_of(const torch::Tensor& out, const std::vector<torch::Tensor>& inputs,
                                    const torch::Tensor& weight) {
  return torch::autograd::grad({(out * weight).sum()}, inputs);
}

// The fused node's values and the gradients of <probe, output> for every input against the composite's.
void expect_same_values_and_gradients(const torch::Tensor& fused, const torch::Tensor& plain,
                                      const std::vector<torch::Tensor>& inputs, const std::string& what) {
  EXPECT_TRUE(torch::allclose(fused, plain, 1e-5, 1e-5)) << what;
  auto probe = torch::randn_like(plain);
  auto gf = grads_of(fused, inputs, probe);
  auto gp = grads_of(plain, inputs, probe);
  for (size_t i = 0; i < gf.size(); ++i) EXPECT_TRUE(torch::allclose(gf[i], gp[i], 1e-4, 1e-4)) << what << ", input " << i;
}

TEST(FusedOps, SiluAndDerivativeMatchTorch) {
  auto x = torch::linspace(-95, 95, 4001);  // beyond the exp clamp on both sides, and odd length for the tail
  auto y = torch::empty_like(x), d = torch::empty_like(x);
  jeffreys::nn::silu_and_derivative(x.data_ptr<float>(), y.data_ptr<float>(), d.data_ptr<float>(), x.numel());
  auto xd = x.to(torch::kDouble);
  auto s = torch::sigmoid(xd);
  EXPECT_LT((y.to(torch::kDouble) - xd * s).abs().max().item<double>(), 2e-5);
  EXPECT_LT(((y.to(torch::kDouble) - xd * s).abs() / (xd * s).abs().clamp_min(1e-30)).max().item<double>(), 1e-6);
  EXPECT_LT((d.to(torch::kDouble) - s * (1 + xd * (1 - s))).abs().max().item<double>(), 1e-6);
}

TEST(FusedOps, LinearSiluMatchesComposite) {
  torch::manual_seed(1);
  for (int64_t cols : {128, 13}) {  // vector width multiple and a ragged tail
    auto x = torch::randn({37, 9}, torch::requires_grad());
    auto w = torch::randn({cols, 9}, torch::requires_grad());
    auto b = torch::randn({cols}, torch::requires_grad());
    auto fused = jeffreys::nn::linear_activation(x, w, b, jeffreys::nn::Activation::silu);
    auto plain = torch::silu(torch::addmm(b, x, w.t()));
    expect_same_values_and_gradients(fused, plain, {x, w, b}, "cols " + std::to_string(cols));
  }
}

// Up to four inputs the product is formed in the activation's pass and the backward is one loop
// without BLAS; 1-4 inputs, a vector-width and a ragged number of outputs, every gradient.
TEST(FusedOps, LinearSiluWithFewInputsMatchesComposite) {
  torch::manual_seed(2);
  for (int64_t k : {1, 2, 3, 4, 5}) {
    for (int64_t cols : {128, 13}) {
      auto x = torch::randn({37, k}, torch::requires_grad());
      auto w = torch::randn({cols, k}, torch::requires_grad());
      auto b = torch::randn({cols}, torch::requires_grad());
      auto fused = jeffreys::nn::linear_activation(x, w, b, jeffreys::nn::Activation::silu);
      auto plain = torch::silu(torch::addmm(b, x, w.t()));
      expect_same_values_and_gradients(fused, plain, {x, w, b},
                                       "k " + std::to_string(k) + ", cols " + std::to_string(cols));
    }
  }
}

// A coupling's identity half is a column slice: the few-inputs path reads its rows at their stride.
TEST(FusedOps, LinearSiluOnAColumnSliceMatchesComposite) {
  torch::manual_seed(4);
  for (int64_t k : {1, 3}) {
    auto base = torch::randn({37, k + 3}, torch::requires_grad());
    auto w = torch::randn({20, k}, torch::requires_grad());
    auto b = torch::randn({20}, torch::requires_grad());
    auto x = base.narrow(1, 2, k);
    ASSERT_FALSE(x.is_contiguous());
    auto fused = jeffreys::nn::linear_activation(x, w, b, jeffreys::nn::Activation::silu);
    auto plain = torch::silu(torch::addmm(b, x, w.t()));
    expect_same_values_and_gradients(fused, plain, {base, w, b}, "k " + std::to_string(k));
  }
}

TEST(FusedOps, NarrowLinearMatchesAddmm) {
  torch::manual_seed(3);
  for (int64_t n : {1, 2, 4, 5}) {     // 5: LibTorch's addmm, through the same function
    for (int64_t in : {128, 13, 1}) {  // vector width, ragged tail, no vector at all
      auto x = torch::randn({29, in}, torch::requires_grad());
      auto w = torch::randn({n, in}, torch::requires_grad());
      auto b = torch::randn({n}, torch::requires_grad());
      auto fused = jeffreys::nn::linear(x, w, b);
      auto plain = torch::addmm(b, x, w.t());
      expect_same_values_and_gradients(fused, plain, {x, w, b}, "n " + std::to_string(n) + ", in " + std::to_string(in));
    }
  }
}

TEST(FusedOps, FusedLayersRefuseDoubleBackward) {
  auto x = torch::randn({8, 2}, torch::requires_grad());
  auto w1 = torch::randn({16, 2}, torch::requires_grad());
  auto b1 = torch::randn({16}, torch::requires_grad());
  auto w2 = torch::randn({1, 16}, torch::requires_grad());
  auto b2 = torch::randn({1}, torch::requires_grad());
  auto h = jeffreys::nn::linear_activation(x, w1, b1, jeffreys::nn::Activation::silu);
  auto e = jeffreys::nn::linear(h, w2, b2).sum();
  EXPECT_ANY_THROW(torch::autograd::grad({e}, {x}, {}, true, /*create_graph=*/true));
}

TEST(FusedOps, LinearSiluSkipsGradientsNobodyNeeds) {
  auto x = torch::randn({8, 3});  // data: no gradient wanted
  auto w = torch::randn({16, 3}, torch::requires_grad());
  auto b = torch::randn({16}, torch::requires_grad());
  auto y = jeffreys::nn::linear_activation(x, w, b, jeffreys::nn::Activation::silu);
  y.sum().backward();
  EXPECT_TRUE(w.grad().defined());
  EXPECT_TRUE(b.grad().defined());
  EXPECT_FALSE(x.grad().defined());
  // The same through the few-inputs path and the narrow layer, with only the input's gradient wanted.
  auto x2 = torch::randn({8, 2}, torch::requires_grad());
  auto w2 = torch::randn({16, 2});  // no gradient wanted for the weights
  auto y2 = jeffreys::nn::linear(
      jeffreys::nn::linear_activation(x2, w2, torch::randn({16}), jeffreys::nn::Activation::silu),
      torch::randn({3, 16}), torch::randn({3}));
  y2.sum().backward();
  EXPECT_TRUE(x2.grad().defined());
  EXPECT_FALSE(w2.grad().defined());
}

class AffineCouplingFused : public ::testing::TestWithParam<std::tuple<bool, double, int64_t>> {};

TEST_P(AffineCouplingFused, MatchesComposite) {
  const auto [inverse, clamp, start] = GetParam();
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    torch::manual_seed(2);
    const int64_t D = 5, size = 2;
    auto v = torch::randn({11, D}, torch::TensorOptions().dtype(dtype).requires_grad(true));
    auto p = torch::randn({11, 2 * size}, torch::TensorOptions().dtype(dtype).requires_grad(true));
    auto [out, ladj] = jeffreys::functional::affine_coupling(v, p, start, size, clamp, inverse);
    auto raw = p.narrow(1, 0, size), shift = p.narrow(1, size, size);
    auto [mid, lad] = inverse ? jeffreys::functional::affine_inverse(v.narrow(1, start, size), raw, shift, clamp)
                              : jeffreys::functional::affine_forward(v.narrow(1, start, size), raw, shift, clamp);
    std::vector<torch::Tensor> parts;
    if (start > 0) parts.push_back(v.narrow(1, 0, start));
    parts.push_back(mid);
    if (start + size < D) parts.push_back(v.narrow(1, start + size, D - start - size));
    auto ref_out = torch::cat(parts, 1);
    auto ref_ladj = lad.sum(1);
    const double tol = dtype == torch::kDouble ? 1e-12 : 1e-5;
    EXPECT_TRUE(torch::allclose(out, ref_out, tol, tol));
    EXPECT_TRUE(torch::allclose(ladj, ref_ladj, tol, tol));
    auto po = torch::randn_like(out), pl = torch::randn_like(ladj);
    auto g1 = torch::autograd::grad({(out * po).sum() + (ladj * pl).sum()}, {v, p});
    auto g2 = torch::autograd::grad({(ref_out * po).sum() + (ref_ladj * pl).sum()}, {v, p});
    EXPECT_TRUE(torch::allclose(g1[0], g2[0], tol, tol));
    EXPECT_TRUE(torch::allclose(g1[1], g2[1], tol, tol));
  }
}

INSTANTIATE_TEST_SUITE_P(Directions, AffineCouplingFused,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(1.0, 2.5, 0.0),
                                            ::testing::Values<int64_t>(0, 3)));

}  // namespace
