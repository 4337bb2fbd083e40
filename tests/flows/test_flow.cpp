// Whole flows: the bijection contract for every family and option, sampling, context checks, presets.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "jeffreys/flows/flow.h"
#include "jeffreys/flows/presets.h"
#include "jeffreys/transforms/actnorm.h"
#include "jeffreys/transforms/lu_linear.h"
#include "support/expect_bijection.h"

namespace fl = jeffreys::flows;
using jtest::max_abs_diff;

namespace {

const auto kD = torch::TensorOptions().dtype(torch::kDouble);

struct FlowCase {
  fl::FlowFamily family;
  int64_t features;
  int64_t context;
  fl::PermutationKind permutation;
  int64_t embedding = 0;  ///< learned context embedding's features (0: none)
};

std::string case_name(const ::testing::TestParamInfo<FlowCase>& info) {
  const auto& c = info.param;
  std::string fam = fl::to_string(c.family);
  for (auto& ch : fam)
    if (ch == '-') ch = '_';
  return fam + "_" + std::to_string(c.features) + "D" +
         (c.permutation == fl::PermutationKind::reverse ? "_reverse" : "_random") +
         (c.context ? "_ctx" + std::to_string(c.context) : "") + (c.embedding ? "_emb" + std::to_string(c.embedding) : "");
}

fl::FlowOptions options(const FlowCase& c) {
  return fl::FlowOptions(c.features)
      .context_features(c.context)
      .family(c.family)
      .layers(3)
      .hidden(16)
      .depth(2)
      .bins(6)
      .bound(3.0)
      .actnorm(true)
      .lu_linear(true)
      .permutation(c.permutation)
      .embedding_features(c.embedding)
      .embedding_hidden(8)
      .seed(4);
}

/// A double flow whose ActNorm layers are data-initialised and whose parameters are all randomised.
fl::Flow make_ready_flow(const FlowCase& c, const torch::Tensor& init_batch, const torch::Tensor& init_ctx) {
  auto flow = fl::make_flow(options(c));
  flow->to(torch::kDouble);
  {
    torch::NoGradGuard g;
    flow->forward(init_batch, init_ctx);  // data-initialises ActNorm
  }
  jtest::randomise_parameters(*flow, 0.3);
  return flow;
}

class FlowContract : public ::testing::TestWithParam<FlowCase> {};

TEST_P(FlowContract, BijectionContract) {
  const auto& c = GetParam();
  torch::manual_seed(41);
  auto init = torch::randn({64, c.features}, kD) * 1.5 + 0.5;
  torch::Tensor init_ctx = c.context ? torch::randn({64, c.context}, kD) : torch::Tensor();
  auto flow = make_ready_flow(c, init, init_ctx);
  for (const auto& t : flow->transforms()) {
    if (auto an = std::dynamic_pointer_cast<jeffreys::transforms::ActNormImpl>(t)) {
      ASSERT_TRUE(an->initialized());
    }
  }

  auto x = torch::randn({5, c.features}, kD) * 1.5;
  x[4].fill_(4.0);  // outside the spline interval before the first layer
  auto z = torch::randn({5, c.features}, kD);
  torch::Tensor ctx = c.context ? torch::randn({5, c.context}, kD) : torch::Tensor();
  auto make_twin = [&] { return make_ready_flow(c, init * 2.0, init_ctx).ptr(); };
  jtest::expect_bijection<fl::FlowImpl>(flow.ptr(), x, z, ctx, make_twin);
}

TEST_P(FlowContract, SamplesCarryTheirExactLogDensity) {
  const auto& c = GetParam();
  torch::manual_seed(42);
  auto init = torch::randn({64, c.features}, kD);
  torch::Tensor init_ctx = c.context ? torch::randn({64, c.context}, kD) : torch::Tensor();
  auto flow = make_ready_flow(c, init, init_ctx);
  torch::NoGradGuard g;
  torch::Tensor ctx = c.context ? torch::randn({7, c.context}, kD) : torch::Tensor();
  auto gen = at::detail::createCPUGenerator(99);
  auto [y, lp] = flow->sample_and_log_prob(7, ctx, gen);
  ASSERT_EQ(y.sizes(), torch::IntArrayRef({7, c.features}));
  EXPECT_EQ(y.scalar_type(), torch::kDouble);
  EXPECT_LT(max_abs_diff(lp, flow->log_prob(y, ctx)), 1e-8);
  // Same generator state: sample() draws the same points.
  auto gen2 = at::detail::createCPUGenerator(99);
  EXPECT_LT(max_abs_diff(flow->sample(7, ctx, gen2), y), 1e-12);
  // ... which are the inverse of the standard normal draws.
  auto gen3 = at::detail::createCPUGenerator(99);
  auto z = torch::randn({7, c.features}, gen3, kD);
  EXPECT_LT(max_abs_diff(flow->inverse(z, ctx).first, y), 1e-12);
}

std::vector<FlowCase> all_cases() {
  std::vector<FlowCase> cases;
  for (auto fam : {fl::FlowFamily::realnvp, fl::FlowFamily::nsf, fl::FlowFamily::maf, fl::FlowFamily::maf_spline}) {
    cases.push_back({fam, 2, 0, fl::PermutationKind::reverse});
    cases.push_back({fam, 5, 0, fl::PermutationKind::random});
    cases.push_back({fam, 3, 3, fl::PermutationKind::random});
    cases.push_back({fam, 3, 6, fl::PermutationKind::random, 2});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Families, FlowContract, ::testing::ValuesIn(all_cases()), case_name);

}  // namespace

TEST(Flow, EmptyFlowIsStandardNormal) {
  fl::Flow flow(3, 0, std::vector<jeffreys::transforms::TransformPtr>{});
  auto x = torch::randn({4, 3});
  auto lp = flow->log_prob(x);
  auto expected = -0.5 * x.square().sum(-1) - 1.5 * std::log(2 * M_PI);
  EXPECT_TRUE(torch::allclose(lp, expected));
  EXPECT_TRUE(torch::allclose(fl::standard_normal_log_prob(x), expected));
}

TEST(Flow, LayersComposeInOrder) {
  // Flow(x) = T2(T1(x)) with the log-determinants added.
  torch::manual_seed(43);
  auto lu = std::make_shared<jeffreys::transforms::LULinearImpl>(3);
  auto an = std::make_shared<jeffreys::transforms::ActNormImpl>(3);
  fl::Flow flow(3, 0, std::vector<jeffreys::transforms::TransformPtr>{lu, an});
  flow->to(torch::kDouble);
  jtest::randomise_parameters(*flow);
  an->initialized_flag.fill_(1);
  torch::NoGradGuard g;
  auto x = torch::randn({4, 3}, kD);
  auto [h, l1] = lu->forward(x);
  auto [z, l2] = an->forward(h);
  auto [zf, lf] = flow->forward(x);
  EXPECT_LT(max_abs_diff(zf, z), 1e-12);
  EXPECT_LT(max_abs_diff(lf, l1 + l2), 1e-12);
  EXPECT_LT(max_abs_diff(flow->log_prob(x), fl::standard_normal_log_prob(z) + l1 + l2), 1e-12);
}

TEST(Flow, ChecksContextAndShapes) {
  auto uncond = fl::make_flow(fl::FlowOptions(2).layers(1).hidden(4));
  auto cond = fl::make_flow(fl::FlowOptions(2).layers(1).hidden(4).context_features(3));
  auto x = torch::randn({5, 2});
  EXPECT_THROW(uncond->log_prob(x, torch::randn({5, 3})), c10::Error);
  EXPECT_THROW(cond->log_prob(x), c10::Error);
  EXPECT_THROW(cond->log_prob(x, torch::randn({4, 3})), c10::Error);
  EXPECT_THROW(cond->log_prob(x, torch::randn({5, 2})), c10::Error);
  EXPECT_THROW(uncond->log_prob(torch::randn({5, 3})), c10::Error);
  EXPECT_THROW(cond->sample(5), c10::Error);
  EXPECT_EQ(cond->sample(5, torch::randn({5, 3})).sizes(), torch::IntArrayRef({5, 2}));
  EXPECT_THROW(uncond->sample(0), c10::Error);
}

TEST(Presets, LayerStructure) {
  auto count = [](const fl::Flow& f, auto* tag) {
    using L = std::remove_pointer_t<decltype(tag)>;
    int n = 0;
    for (const auto& t : f->transforms()) n += std::dynamic_pointer_cast<L>(t) != nullptr;
    return n;
  };
  auto f = fl::make_flow(fl::FlowOptions(4).layers(3).hidden(4).actnorm(true).lu_linear(true).permutation(
      fl::PermutationKind::reverse));
  EXPECT_EQ(f->transforms().size(), 3u * 3u + 2u);  // (actnorm, lu, coupling) x 3 + 2 permutations
  EXPECT_EQ(count(f, static_cast<jeffreys::transforms::ActNormImpl*>(nullptr)), 3);
  EXPECT_EQ(count(f, static_cast<jeffreys::transforms::LULinearImpl*>(nullptr)), 3);
  EXPECT_EQ(f->features(), 4);
  EXPECT_EQ(f->context_features(), 0);
  EXPECT_THROW(fl::make_flow(fl::FlowOptions(1).family(fl::FlowFamily::realnvp)), c10::Error);
  EXPECT_NO_THROW(fl::make_flow(fl::FlowOptions(1).family(fl::FlowFamily::maf).hidden(4)));
  EXPECT_THROW(fl::make_flow(fl::FlowOptions(2).layers(0)), c10::Error);
}

TEST(Presets, ZeroInitStartsAsStandardNormal) {
  for (auto fam : {fl::FlowFamily::realnvp, fl::FlowFamily::nsf, fl::FlowFamily::maf, fl::FlowFamily::maf_spline}) {
    SCOPED_TRACE(fl::to_string(fam));
    auto f = fl::make_flow(fl::FlowOptions(3).family(fam).layers(2).hidden(8).zero_init(true));
    f->to(torch::kDouble);
    auto x = torch::randn({6, 3}, kD);
    EXPECT_LT(max_abs_diff(f->log_prob(x), fl::standard_normal_log_prob(x)), 1e-9);
  }
}

TEST(Presets, NamesRoundTrip) {
  for (auto fam : {fl::FlowFamily::realnvp, fl::FlowFamily::nsf, fl::FlowFamily::maf, fl::FlowFamily::maf_spline})
    EXPECT_EQ(fl::flow_family_from_string(fl::to_string(fam)), fam);
  EXPECT_EQ(fl::permutation_from_string("random"), fl::PermutationKind::random);
  EXPECT_THROW(fl::flow_family_from_string("glow"), std::invalid_argument);
  EXPECT_THROW(fl::permutation_from_string("shuffle"), std::invalid_argument);
}

TEST(Flow, DoublePrecisionAfterTo) {
  auto f = fl::make_flow(fl::FlowOptions(3).family(fl::FlowFamily::maf).layers(2).hidden(4).permutation(
      fl::PermutationKind::random));
  f->to(torch::kDouble);
  EXPECT_EQ(f->tensor_options().dtype(), torch::kDouble);
  auto x = f->sample(4);
  EXPECT_EQ(x.scalar_type(), torch::kDouble);
  EXPECT_EQ(f->log_prob(x).scalar_type(), torch::kDouble);
}

TEST(FlowContractFloat32, RealNVPAndNSFInSinglePrecision) {
  // float32 takes the fused CPU kernels (Linear+SiLU, affine coupling); their backward passes build
  // the autograd Jacobian, so the contract checks them too, at single-precision tolerance.
  for (auto fam : {fl::FlowFamily::realnvp, fl::FlowFamily::nsf}) {
    for (int64_t ctx : {0, 2}) {
      SCOPED_TRACE(fl::to_string(fam) + " context " + std::to_string(ctx));
      torch::manual_seed(44);
      auto make = [&] {
        auto f = fl::make_flow(fl::FlowOptions(4).family(fam).context_features(ctx).layers(3).hidden(16).bins(6).bound(3.0));
        // Milder for splines: near-flat spline bins amplify float rounding in the inverse
        // (measured: 0.3 gives round-trip errors up to ~1 in float32 on random points, 0.1 gives 5e-6).
        jtest::randomise_parameters(*f, fam == fl::FlowFamily::nsf ? 0.1 : 0.3);
        return f.ptr();
      };
      auto flow = make();
      auto x = torch::randn({5, 4});
      auto z = torch::randn({5, 4});
      torch::Tensor c = ctx ? torch::randn({5, ctx}) : torch::Tensor();
      jtest::BijectionOptions o;
      o.tol = 1e-4;
      jtest::expect_bijection<fl::FlowImpl>(flow, x, z, c, make, o);
    }
  }
}

// k samples per context, embedding the contexts once: the same draws, densities and parameter
// gradients as sampling with each context repeated k times.
TEST(Flow, PerContextSamplingMatchesRepeatedContexts) {
  for (int64_t embed : {0, 3}) {
    torch::manual_seed(61);
    auto flow = jeffreys::flows::make_flow(jeffreys::flows::FlowOptions(3)
                                               .family(jeffreys::flows::FlowFamily::nsf)
                                               .context_features(4)
                                               .embedding_features(embed)
                                               .layers(2)
                                               .hidden(16));
    flow->to(torch::kDouble);
    auto ctx = torch::randn({5, 4}, torch::kDouble);
    const int64_t k = 7;
    auto grads = [&](const torch::Tensor& loss) {
      flow->zero_grad();
      loss.backward();
      std::vector<torch::Tensor> g;
      for (const auto& p : flow->parameters()) g.push_back(p.grad().clone());
      return g;
    };
    auto [x1, l1] = flow->sample_and_log_prob_per_context(k, ctx, at::detail::createCPUGenerator(3));
    auto g1 = grads((x1.square().sum(-1) + l1).sum());
    auto [x2, l2] = flow->sample_and_log_prob(k * 5, ctx.repeat({k, 1}), at::detail::createCPUGenerator(3));
    auto g2 = grads((x2.square().sum(-1) + l2).sum());
    ASSERT_EQ(x1.sizes(), torch::IntArrayRef({k * 5, 3}));
    EXPECT_LT((x1 - x2).abs().max().item<double>(), 1e-12) << "embedding " << embed;
    EXPECT_LT((l1 - l2).abs().max().item<double>(), 1e-12) << "embedding " << embed;
    ASSERT_EQ(g1.size(), g2.size());
    for (size_t i = 0; i < g1.size(); ++i) EXPECT_LT((g1[i] - g2[i]).abs().max().item<double>(), 1e-10) << i;
  }
}
