// The MLP energy: conditioning on the raw context or on a learned embedding of it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "jeffreys/energy/energy.h"

namespace en = jeffreys::energy;

TEST(MLPEnergy, ContextEmbeddingShapesTheEnergyAndLearnsWithIt) {
  torch::manual_seed(3);
  en::MLPEnergyImpl e(en::MLPEnergyOptions(2).context_features(12).hidden(16).embedding_features(4).embedding_hidden(8));
  ASSERT_TRUE(e.embedding);
  EXPECT_EQ(e.embedding->options.in_features(), 12);
  // The energy network sees θ and the 4 embedded features, not the 12 raw ones.
  EXPECT_EQ(e.net->options.context_features(), 4);
  auto x = torch::randn({6, 2});
  auto c1 = torch::randn({1, 12}).expand({6, 12}), c2 = torch::randn({1, 12}).expand({6, 12});
  auto e1 = e.energy(x, c1);
  ASSERT_EQ(e1.sizes(), torch::IntArrayRef({6}));
  EXPECT_GT((e1 - e.energy(x, c2)).abs().max().item<float>(), 1e-4) << "the context should change the energy";
  e1.sum().backward();
  float grad = 0;
  for (const auto& p : e.embedding->parameters()) grad += p.grad().abs().sum().item<float>();
  EXPECT_GT(grad, 0.f);
  EXPECT_THROW(e.energy(x), c10::Error);
  EXPECT_THROW(en::MLPEnergyImpl(en::MLPEnergyOptions(2).embedding_features(4)), c10::Error)
      << "an embedding without a context";
}

TEST(MLPEnergy, WithoutEmbeddingTheContextJoinsTheInput) {
  en::MLPEnergyImpl e(en::MLPEnergyOptions(3).context_features(2).hidden(8));
  EXPECT_FALSE(e.embedding);
  EXPECT_EQ(e.net->options.context_features(), 2);
  EXPECT_EQ(e.energy(torch::randn({4, 3}), torch::randn({4, 2})).sizes(), torch::IntArrayRef({4}));
}

// Energies of k rows per context equal those with each context repeated k times, with and without
// an embedding; shapes that do not tile are refused.
TEST(MLPEnergy, PerContextEnergyMatchesRepeatedContexts) {
  for (int64_t embed : {0, 4}) {
    torch::manual_seed(7);
    en::MLPEnergyImpl e(en::MLPEnergyOptions(2).context_features(6).hidden(16).embedding_features(embed));
    e.to(torch::kDouble);
    auto x = torch::randn({15, 2}, torch::kDouble);
    auto c = torch::randn({5, 6}, torch::kDouble);
    auto a = e.energy_per_context(x, c);
    auto b = e.energy(x, c.repeat({3, 1}));
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-12) << "embedding " << embed;
    EXPECT_THROW(e.energy_per_context(torch::randn({14, 2}, torch::kDouble), c), c10::Error);
  }
}
