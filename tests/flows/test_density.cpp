// A flow's density is normalised: exp(log_prob) integrates to 1 over the plane.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "jeffreys/flows/presets.h"
#include "support/expect_bijection.h"

namespace fl = jeffreys::flows;

namespace {

class DensityIntegral : public ::testing::TestWithParam<fl::FlowFamily> {};

TEST_P(DensityIntegral, IntegratesToOneOnGrid) {
  torch::manual_seed(51);
  auto flow = fl::make_flow(fl::FlowOptions(2)
                                .family(GetParam())
                                .layers(4)
                                .hidden(16)
                                .bins(6)
                                .bound(4.0));
  flow->to(torch::kDouble);
  jtest::randomise_parameters(*flow, 0.1);
  torch::NoGradGuard g;

  // The test is only meaningful if (almost) all of the mass lies on the grid: check with samples.
  const double lo = -8, hi = 8;
  auto s = flow->sample(100000, {}, at::detail::createCPUGenerator(5));
  const double outside = (s.abs() > hi).any(1).to(torch::kDouble).mean().item<double>();
  ASSERT_LT(outside, 1e-3) << "the flow puts too much mass outside the grid";
  // ... and that the density is far from the base (so a missing log-det would show).
  auto spread = s.std(0);
  EXPECT_GT((spread - 1).abs().max().item<double>(), 0.05);

  // Midpoint rule on a 400 x 400 grid.
  const int64_t n = 400;
  const double h = (hi - lo) / n;
  auto c = torch::arange(n, torch::kDouble) * h + (lo + h / 2);
  auto grid = torch::stack(torch::meshgrid({c, c}, "ij"), -1).reshape({-1, 2});
  double mass = 0;
  for (const auto& chunk : grid.split(40000)) mass += flow->log_prob(chunk).exp().sum().item<double>() * h * h;
  EXPECT_NEAR(mass, 1.0, 1e-2);
  // A wrong log-determinant sign would make the mass visibly wrong.
  double wrong = 0;
  for (const auto& chunk : grid.split(40000)) {
    auto [z, ld] = flow->forward(chunk);
    wrong += (fl::standard_normal_log_prob(z) - ld).exp().sum().item<double>() * h * h;
  }
  EXPECT_GT(std::abs(wrong - 1.0), 0.05);
}

// With a learned context embedding, each context's density is normalised, the context changes it,
// and the embedding's weights get gradients from the log-density.
TEST(DensityIntegral, ConditionalFlowWithContextEmbeddingIntegratesToOnePerContext) {
  torch::manual_seed(52);
  auto flow = fl::make_flow(fl::FlowOptions(2)
                                .family(fl::FlowFamily::nsf)
                                .context_features(5)
                                .embedding_features(3)
                                .embedding_hidden(16)
                                .layers(3)
                                .hidden(16)
                                .bins(6)
                                .bound(4.0));
  flow->to(torch::kDouble);
  jtest::randomise_parameters(*flow, 0.1);
  ASSERT_TRUE(flow->embedding());
  EXPECT_EQ(flow->embedding()->options.in_features(), 5);
  EXPECT_EQ(flow->embedding()->options.out_features(), 3);

  const double lo = -8, hi = 8;
  const int64_t n = 400;
  const double h = (hi - lo) / n;
  auto c = torch::arange(n, torch::kDouble) * h + (lo + h / 2);
  auto grid = torch::stack(torch::meshgrid({c, c}, "ij"), -1).reshape({-1, 2});
  std::vector<torch::Tensor> densities;
  for (int k = 0; k < 2; ++k) {
    torch::NoGradGuard g;
    auto ctx = torch::randn({1, 5}, torch::kDouble) * 2.0;
    auto s = flow->sample(100000, ctx.expand({100000, 5}), at::detail::createCPUGenerator(5 + k));
    ASSERT_LT((s.abs() > hi).any(1).to(torch::kDouble).mean().item<double>(), 1e-3) << "mass outside the grid";
    std::vector<torch::Tensor> parts;
    for (const auto& chunk : grid.split(40000)) parts.push_back(flow->log_prob(chunk, ctx.expand({chunk.size(0), 5})).exp());
    auto p = torch::cat(parts);
    EXPECT_NEAR(p.sum().item<double>() * h * h, 1.0, 1e-2) << "context " << k;
    densities.push_back(p);
  }
  EXPECT_GT((densities[0] - densities[1]).abs().sum().item<double>() * h * h, 0.05)
      << "the context should change the density";

  auto lp = flow->log_prob(torch::randn({16, 2}, torch::kDouble), torch::randn({16, 5}, torch::kDouble)).sum();
  lp.backward();
  double grad = 0;
  for (const auto& p : flow->embedding()->parameters()) grad += p.grad().abs().sum().item<double>();
  EXPECT_GT(grad, 0.0);
}

INSTANTIATE_TEST_SUITE_P(Families, DensityIntegral,
                         ::testing::Values(fl::FlowFamily::realnvp, fl::FlowFamily::nsf, fl::FlowFamily::maf,
                                           fl::FlowFamily::maf_spline),
                         [](const ::testing::TestParamInfo<fl::FlowFamily>& info) {
                           auto s = fl::to_string(info.param);
                           for (auto& ch : s)
                             if (ch == '-') ch = '_';
                           return s;
                         });

}  // namespace
