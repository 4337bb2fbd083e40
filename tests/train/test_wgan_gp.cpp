// WGAN-GP baseline: the penalty is the one of the paper, the critic supports double backward
// (and the fused layers refuse it loudly), and a short run moves the flow generator to the data.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>

#include "jeffreys/flows/presets.h"
#include "jeffreys/nn/mlp.h"
#include "jeffreys/train/wgan_gp.h"

namespace tr = jeffreys::train;
namespace nn = jeffreys::nn;

TEST(WganGp, FusedLayersRefuseDoubleBackwardAndPlainOnesMatchThem) {
  torch::manual_seed(1);
  nn::MLP fused(nn::MLPOptions(2, 1).hidden(16));
  nn::MLP plain(nn::MLPOptions(2, 1).hidden(16).fused(false));
  {
    torch::NoGradGuard g;
    auto src = fused->parameters();
    auto dst = plain->parameters();
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  auto x = torch::randn({32, 2}).requires_grad_(true);
  EXPECT_TRUE(torch::allclose(fused->forward(x), plain->forward(x), 1e-5, 1e-5));
  auto gx = torch::autograd::grad({fused->forward(x).sum()}, {x}, {}, true, /*create_graph=*/false)[0];
  auto gp = torch::autograd::grad({plain->forward(x).sum()}, {x}, {}, true, /*create_graph=*/true)[0];
  EXPECT_TRUE(torch::allclose(gx, gp.detach(), 1e-5, 1e-5));
  try {
    torch::autograd::grad({fused->forward(x).sum()}, {x}, {}, true, /*create_graph=*/true);
    FAIL() << "double backward through the fused layer must throw";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("fused(false)"), std::string::npos);
  }
}

TEST(WganGp, PenaltyOfALinearCriticIsItsWeightNormGap) {
  torch::manual_seed(2);
  auto flow = jeffreys::flows::make_flow(jeffreys::flows::FlowOptions(2).layers(2).hidden(8));
  nn::MLP critic(nn::MLPOptions(2, 1).depth(0).fused(false));  // D(x) = w·x + b, ∇D = w everywhere
  const double w_norm = critic->parameters()[0].norm().item<double>();
  tr::WganGpOptions o;
  o.critic_steps = 1;
  o.batch_size = 64;
  tr::WganGpTrainer t(flow, critic, o);
  auto s = t.step_on(torch::randn({500, 2}));
  EXPECT_NEAR(s.gradient_penalty, (w_norm - 1) * (w_norm - 1), 1e-5);
  // The critic minimises -W + λ GP with the default λ = 10.
  EXPECT_NEAR(s.critic_loss, -s.wasserstein + 10.0 * s.gradient_penalty, 1e-5);
}

TEST(WganGp, ShortRunMovesTheGeneratorToTheData) {
  torch::manual_seed(3);
  auto flow = jeffreys::flows::make_flow(jeffreys::flows::FlowOptions(2).layers(4).hidden(32));
  tr::WganGpOptions o;
  o.batch_size = 128;
  o.generator.lr = 2e-3;
  o.critic.lr = 2e-3;
  tr::WganGpTrainer t(flow, tr::make_critic(2, 32, 2), o);
  auto centre = torch::tensor({2.0f, -1.5f});
  auto data = torch::randn({2000, 2}) * 0.5 + centre;
  auto distance = [&] {
    torch::NoGradGuard g;
    return (flow->sample(4000).mean(0) - centre).norm().item<double>();
  };
  const double before = distance();
  tr::WganStep last;
  for (int i = 0; i < 300; ++i) last = t.step_on(data);
  const double after = distance();
  EXPECT_GT(before, 2.0);
  EXPECT_LT(after, 0.35 * before) << "before " << before << " after " << after;
  RecordProperty("distance_before", std::to_string(before));
  RecordProperty("distance_after", std::to_string(after));
  EXPECT_EQ(t.step_count(), 300);
  EXPECT_TRUE(std::isfinite(last.wasserstein));
}

TEST(WganGp, CheckpointResumesExactly) {
  auto make = [] {
    torch::manual_seed(3);
    auto flow = jeffreys::flows::make_flow(jeffreys::flows::FlowOptions(2).layers(2).hidden(8));
    tr::WganGpOptions o;
    o.batch_size = 32;
    o.critic_steps = 2;
    o.seed = 9;
    return std::make_unique<tr::WganGpTrainer>(flow, tr::make_critic(2, 16, 2), o);
  };
  torch::manual_seed(0);
  auto data = torch::randn({200, 2});
  auto a = make();
  for (int i = 0; i < 3; ++i) a->step_on(data);
  const auto path = (std::filesystem::temp_directory_path() / ("wgan_ckpt_" + std::to_string(::getpid()) + ".pt")).string();
  a->save(path);
  tr::WganStep last_a;
  for (int i = 0; i < 2; ++i) last_a = a->step_on(data);

  auto b = make();
  b->load(path);
  EXPECT_EQ(b->step_count(), 3);
  tr::WganStep last_b;
  for (int i = 0; i < 2; ++i) last_b = b->step_on(data);
  EXPECT_EQ(last_a.critic_loss, last_b.critic_loss);
  EXPECT_EQ(last_a.generator_loss, last_b.generator_loss);
  auto pa = a->generator()->parameters(), pb = b->generator()->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
  auto ca = a->critic()->parameters(), cb = b->critic()->parameters();
  for (size_t i = 0; i < ca.size(); ++i) EXPECT_TRUE(torch::equal(ca[i], cb[i]));

  std::filesystem::remove(path);
  EXPECT_THROW(b->load(path), tr::CheckpointError);
}
