// Train / validation split: sizes, a partition of the rows, determinism per seed, bad fractions.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "jeffreys/data/split.h"

namespace dt = jeffreys::data;

namespace {

torch::Tensor rows(int64_t n) { return torch::arange(n * 3, torch::kDouble).reshape({n, 3}); }

TEST(Split, SizesPartitionAndShuffle) {
  auto x = rows(100);
  auto s = dt::split(x, 0.2, 5);
  EXPECT_EQ(s.train.sizes(), (std::vector<int64_t>{80, 3}));
  EXPECT_EQ(s.validation.sizes(), (std::vector<int64_t>{20, 3}));
  EXPECT_EQ(s.train.scalar_type(), torch::kDouble);
  // Together the parts hold every row once (rows are identified by their first entry).
  auto ids = std::get<0>(torch::cat({s.train, s.validation}).select(1, 0).sort());
  EXPECT_TRUE(torch::equal(ids, x.select(1, 0)));
  // Shuffled: the validation rows are not simply the first or last ones.
  EXPECT_FALSE(torch::equal(s.validation, x.narrow(0, 0, 20)));
  EXPECT_FALSE(torch::equal(s.validation, x.narrow(0, 80, 20)));
  EXPECT_EQ(dt::split(x, 0.25, 5).validation.size(0), 25);
  EXPECT_EQ(dt::split(rows(10), 0.15, 5).validation.size(0), 2);  // rounded
}

TEST(Split, DeterministicPerSeed) {
  auto x = rows(50);
  auto a = dt::split(x, 0.3, 9), b = dt::split(x, 0.3, 9), c = dt::split(x, 0.3, 10);
  EXPECT_TRUE(torch::equal(a.train, b.train));
  EXPECT_TRUE(torch::equal(a.validation, b.validation));
  EXPECT_FALSE(torch::equal(a.validation, c.validation));
}

TEST(Split, ZeroFractionKeepsEveryRowForTraining) {
  auto s = dt::split(rows(7), 0.0, 1);
  EXPECT_EQ(s.train.size(0), 7);
  EXPECT_EQ(s.validation.sizes(), (std::vector<int64_t>{0, 3}));
}

TEST(Split, RejectsBadFractionsAndEmptyParts) {
  auto x = rows(10);
  for (double f : {-0.1, 1.0, 1.5, std::numeric_limits<double>::quiet_NaN()})
    EXPECT_THROW(dt::split(x, f, 1), std::invalid_argument) << f;
  EXPECT_THROW(dt::split(rows(3), 0.1, 1), std::invalid_argument);  // no validation row
  EXPECT_THROW(dt::split(rows(2), 0.9, 1), std::invalid_argument);  // no training row
  EXPECT_THROW(dt::split(torch::tensor(1.0), 0.5, 1), std::invalid_argument);
}

}  // namespace

namespace {

TEST(RandomSubset, DistinctRowsOfTheInputFixedBySeed) {
  auto x = rows(1000);
  auto s = dt::random_subset(x, 100, 3);
  ASSERT_EQ(s.sizes(), (std::vector<int64_t>{100, 3}));
  // Whole rows of x (each row is 3i, 3i+1, 3i+2), each at most once.
  auto first = s.select(1, 0);
  EXPECT_TRUE(torch::equal(s.select(1, 1), first + 1));
  EXPECT_TRUE(torch::equal(torch::fmod(first, 3), torch::zeros_like(first)));
  auto sorted = std::get<0>(first.sort());
  EXPECT_TRUE((sorted.slice(0, 1) - sorted.slice(0, 0, -1)).gt(0).all().item<bool>());
  EXPECT_TRUE(torch::equal(dt::random_subset(x, 100, 3), s));   // the seed fixes it
  EXPECT_FALSE(torch::equal(dt::random_subset(x, 100, 4), s));  // another seed draws another
  // Uniform over the rows, not the first ones: the mean row index of 100 of 1000 is 499.5 +- 29.
  EXPECT_NEAR((first / 3).mean().item<double>(), 499.5, 4 * 29.0);
  // All rows: a permutation.
  auto all = dt::random_subset(x, 1000, 3);
  EXPECT_TRUE(torch::equal(std::get<0>(all.select(1, 0).sort()), x.select(1, 0)));
  EXPECT_THROW(dt::random_subset(x, 1001, 3), std::invalid_argument);
  EXPECT_THROW(dt::random_subset(x, 0, 3), std::invalid_argument);
}

}  // namespace
