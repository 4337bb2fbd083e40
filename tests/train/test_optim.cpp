// Flat parameter buffers, FlatAdam against torch::optim::Adam, learning-rate schedules.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "jeffreys/nn/mlp.h"
#include "jeffreys/train/flat_adam.h"
#include "jeffreys/train/schedule.h"
#include "support/expect_bijection.h"

namespace tr = jeffreys::train;
namespace nn = jeffreys::nn;

namespace {

const auto kD = torch::TensorOptions().dtype(torch::kDouble);

nn::MLP make_mlp(uint64_t seed) {
  torch::manual_seed(seed);
  nn::MLP m(nn::MLPOptions(3, 2).hidden(8).depth(2));
  m->to(torch::kDouble);
  return m;
}

torch::Tensor loss_of(nn::MLP& m, const torch::Tensor& x) { return m->forward(x).square().sum() + m->forward(x).sum(); }

}  // namespace

TEST(FlatParameters, ParametersAliasOneBufferAndBackwardFillsFlatGradients) {
  auto a = make_mlp(81), b = make_mlp(81);
  auto before = torch::cat([&] {
    std::vector<torch::Tensor> v;
    for (const auto& p : a->parameters()) v.push_back(p.detach().reshape({-1}).clone());
    return v;
  }());
  tr::FlatParameters flat(a->parameters());
  ASSERT_TRUE(flat.intact());
  EXPECT_EQ(flat.numel(), before.numel());
  EXPECT_TRUE(torch::equal(flat.values(), before));
  // Writing the buffer writes the parameters.
  {
    torch::NoGradGuard g;
    flat.values().add_(1.0);
    EXPECT_TRUE(torch::equal(a->parameters()[0], b->parameters()[0] + 1.0));
    flat.values().sub_(1.0);
  }
  EXPECT_TRUE(flat.intact());

  auto x = torch::randn({5, 3}, kD);
  loss_of(a, x).backward();
  loss_of(b, x).backward();
  std::vector<torch::Tensor> gb;
  for (const auto& p : b->parameters()) gb.push_back(p.grad().reshape({-1}));
  EXPECT_LT(jtest::max_abs_diff(flat.grads(), torch::cat(gb)), 1e-12);
  EXPECT_GT(flat.grads().abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(flat.intact()) << "backward replaced a gradient tensor instead of accumulating in place";
  // Accumulates like torch: a second backward doubles the gradient.
  loss_of(a, x).backward();
  EXPECT_LT(jtest::max_abs_diff(flat.grads(), 2 * torch::cat(gb)), 1e-12);
  flat.zero_grad();
  EXPECT_EQ(flat.grads().abs().sum().item<double>(), 0.0);
  for (const auto& p : a->parameters()) EXPECT_EQ(p.grad().abs().sum().item<double>(), 0.0);

  // Rebinding a parameter (as a module load might) is detected.
  {
    torch::NoGradGuard g;
    a->parameters()[1].set_data(a->parameters()[1].clone());
  }
  EXPECT_FALSE(flat.intact());
}

TEST(FlatAdam, MatchesTorchAdam) {
  for (double wd : {0.0, 0.05}) {
    SCOPED_TRACE("weight_decay " + std::to_string(wd));
    auto a = make_mlp(82), b = make_mlp(82);
    tr::FlatParameters flat(a->parameters());
    tr::AdamOptions o;
    o.lr = 0.02;
    o.beta1 = 0.8;
    o.beta2 = 0.95;
    o.eps = 1e-6;
    o.weight_decay = wd;
    tr::FlatAdam adam(&flat, o);
    torch::optim::Adam ref(b->parameters(), torch::optim::AdamOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(wd));
    torch::manual_seed(83);
    for (int step = 0; step < 6; ++step) {
      auto x = torch::randn({8, 3}, kD);
      flat.zero_grad();
      loss_of(a, x).backward();
      adam.step(o.lr);
      ref.zero_grad();
      loss_of(b, x).backward();
      ref.step();
      auto pa = a->parameters(), pb = b->parameters();
      for (size_t i = 0; i < pa.size(); ++i) ASSERT_LT(jtest::max_abs_diff(pa[i], pb[i]), 1e-6) << "step " << step;
    }
    EXPECT_EQ(adam.step_count, 6);
    // The parameters moved (the comparison is not between two frozen models).
    EXPECT_GT(jtest::max_abs_diff(a->parameters()[0], make_mlp(82)->parameters()[0]), 1e-3);
    EXPECT_TRUE(flat.intact());
  }
}

TEST(FlatAdam, UsesTheGivenLearningRate) {
  auto a = make_mlp(84), b = make_mlp(84);
  tr::FlatParameters fa(a->parameters()), fb(b->parameters());
  tr::AdamOptions o;
  o.lr = 1.0;  // ignored: step() takes the scheduled rate
  tr::FlatAdam ada(&fa, o), adb(&fb, o);
  auto x = torch::randn({4, 3}, kD);
  loss_of(a, x).backward();
  loss_of(b, x).backward();
  auto v0 = fa.values().clone();
  ada.step(0.01);
  adb.step(0.02);
  // The first Adam step moves each coordinate by lr * sign(g) (up to eps): twice as far for twice the rate.
  EXPECT_LT(jtest::max_abs_diff((fb.values() - v0), 2 * (fa.values() - v0)), 1e-9);
  EXPECT_NEAR((fa.values() - v0).abs().max().item<double>(), 0.01, 1e-6);
  tr::FlatParameters empty;
  tr::FlatAdam none(&empty, o);
  EXPECT_NO_THROW(none.step(0.1));
  o.beta1 = 1.0;
  EXPECT_THROW(tr::FlatAdam(&fa, o), c10::Error);
}

TEST(FlatParameters, RejectsMixedDtypes) {
  std::vector<torch::Tensor> ps{torch::zeros({2}, kD).requires_grad_(), torch::zeros({2}).requires_grad_()};
  EXPECT_THROW(tr::FlatParameters{ps}, c10::Error);
}

TEST(Schedule, Factors) {
  tr::Schedule c;
  EXPECT_EQ(c.factor(0), 1.0);
  EXPECT_EQ(c.factor(1000), 1.0);
  tr::Schedule cos;
  cos.kind = tr::ScheduleKind::cosine;
  cos.total_steps = 100;
  cos.min_factor = 0.1;
  EXPECT_DOUBLE_EQ(cos.factor(0), 1.0);
  EXPECT_NEAR(cos.factor(50), 0.1 + 0.9 * 0.5, 1e-12);
  EXPECT_NEAR(cos.factor(100), 0.1, 1e-12);
  EXPECT_NEAR(cos.factor(500), 0.1, 1e-12);
  tr::Schedule ex;
  ex.kind = tr::ScheduleKind::exponential;
  ex.gamma = 0.9;
  EXPECT_NEAR(ex.factor(3), 0.729, 1e-12);
  tr::Schedule warm;
  warm.warmup_steps = 4;
  EXPECT_DOUBLE_EQ(warm.factor(0), 0.25);
  EXPECT_DOUBLE_EQ(warm.factor(3), 1.0);
  EXPECT_DOUBLE_EQ(warm.factor(4), 1.0);
  tr::Schedule bad;
  bad.kind = tr::ScheduleKind::cosine;
  EXPECT_THROW(bad.factor(1), std::invalid_argument);
  EXPECT_EQ(tr::schedule_from_string("cosine"), tr::ScheduleKind::cosine);
  EXPECT_THROW(tr::schedule_from_string("step"), std::invalid_argument);
}
