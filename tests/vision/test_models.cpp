// The image networks: shapes, that a few Adam steps fit the autoencoder and the classifier, and
// that map_batches equals one big call.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "jeffreys/vision/models.h"
#include "jeffreys/vision/training.h"

namespace jv = jeffreys::vision;

namespace {
/// Two classes of 28×28 images a classifier and an autoencoder can learn in a few epochs: a bright
/// square in the top-left or in the bottom-right corner, with noise.
std::pair<torch::Tensor, torch::Tensor> squares(int64_t n, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto labels = torch::randint(0, 2, {n}, gen, torch::kLong);
  auto x = 0.1 * torch::rand({n, 1, 28, 28}, gen);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t o = labels[i].item<int64_t>() == 0 ? 2 : 16;
    x[i].narrow(1, o, 10).narrow(2, o, 10).add_(0.8);
  }
  return {x, labels};
}
}  // namespace

TEST(ConvAutoencoder, ShapesRangeAndBadInput) {
  torch::manual_seed(0);
  jv::ConvAutoencoder ae(jv::ImageShape{1, 28, 28}, 16, 8);
  auto x = torch::rand({5, 1, 28, 28});
  auto z = ae->encode(x);
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{5, 16}));
  auto y = ae->decode(z);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_GE(y.min().item<float>(), 0.0f);
  EXPECT_LE(y.max().item<float>(), 1.0f);
  jv::ConvAutoencoder sym(jv::ImageShape{3, 32, 16}, 4, 8, true);
  auto ys = sym->forward(torch::rand({2, 3, 32, 16}) * 2 - 1);
  EXPECT_EQ(ys.sizes(), (std::vector<int64_t>{2, 3, 32, 16}));
  EXPECT_LT(ys.min().item<float>(), 0.5f);  // tanh: negative values possible, sigmoid would not allow them
  EXPECT_THROW(jv::ConvAutoencoder(jv::ImageShape{1, 30, 28}, 16), std::invalid_argument);
  EXPECT_THROW(ae->encode(torch::rand({5, 1, 32, 32})), c10::Error);
}

TEST(ConvAutoencoder, ATinyTrainingRunReducesTheReconstructionError) {
  torch::manual_seed(0);
  auto [x, labels] = squares(256, 1);
  jv::ConvAutoencoder ae(jv::ImageShape{1, 28, 28}, 8, 8);
  const double before = jv::reconstruction_mse(ae, x);
  jv::FitOptions o;
  o.epochs = 3;
  o.batch_size = 32;
  o.lr = 3e-3;
  auto records = jv::fit_autoencoder(ae, x, x, o);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_NEAR(records.back().test_metric, jv::reconstruction_mse(ae, x), 1e-6);
  // The untrained decoder outputs about 0.5 everywhere (MSE ≈ 0.17 here); the trained one draws the squares.
  EXPECT_GT(before, 0.1);
  EXPECT_LT(records.back().test_metric, 0.5 * before);
  EXPECT_LT(records.back().test_metric, records.front().test_metric);
}

TEST(ConvClassifier, LearnsTwoClassesAndExposesItsFeatures) {
  torch::manual_seed(0);
  auto [x, y] = squares(512, 2);
  auto [xt, yt] = squares(200, 3);
  jv::ConvClassifier net(jv::ImageShape{1, 28, 28}, 2, 32, 0.1);
  EXPECT_EQ(net->features(xt).sizes(), (std::vector<int64_t>{200, 32}));
  jv::FitOptions o;
  o.epochs = 2;
  o.batch_size = 64;
  auto records = jv::fit_classifier(net, x, y, xt, yt, o);
  EXPECT_GT(records.back().test_metric, 0.98);
  EXPECT_DOUBLE_EQ(records.back().test_metric, jv::classification_accuracy(net, xt, yt));
  EXPECT_FALSE(net->is_training());
}

TEST(MapBatches, EqualsOneCall) {
  auto x = torch::randn({1003, 3});
  auto f = [](const torch::Tensor& b) { return b.square().sum(1, true); };
  EXPECT_TRUE(torch::allclose(jv::map_batches(x, 100, f), f(x)));
  EXPECT_THROW(jv::map_batches(x, 0, f), c10::Error);
}
