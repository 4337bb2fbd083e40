// C2ST as sbibm computes it: about 0.5 for two samples of one distribution, about 1 for separated
// ones, and for two unit Gaussians a distance δ apart close to the best possible accuracy Φ(δ/2);
// invariant to an affine change of units (z-scoring); deterministic per seed; bad input refused.
// Tests use 2,000 rows a side (sbibm uses 10,000; a 10k × 10k run takes seconds to a minute, see the
// README), which widens the accuracy's standard error to about 0.008.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "jeffreys/metrics/c2st.h"
#include "jeffreys/simulators/task.h"
#include "simulators/sbibm_files.h"

namespace jm = jeffreys::metrics;

namespace {

at::Generator gen(uint64_t seed) { return at::detail::createCPUGenerator(seed); }
torch::Tensor normal(int64_t n, int64_t d, uint64_t seed) { return torch::randn({n, d}, gen(seed), torch::kDouble); }

}  // namespace

TEST(C2st, SameDistributionScoresAboutHalf) {
  const auto r = jm::c2st_folds(normal(2000, 2, 1), normal(2000, 2, 2));
  EXPECT_NEAR(r.accuracy, 0.5, 0.04);
  ASSERT_EQ(r.fold_accuracy.size(), 5u);
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_NEAR(r.fold_accuracy[k], 0.5, 0.1);
    // Nothing to learn: training stops early, after at least the 11 epochs of patience.
    EXPECT_GE(r.fold_epochs[k], 11);
    EXPECT_LT(r.fold_epochs[k], 1000);
  }
}

TEST(C2st, SeparatedDistributionsScoreAboutOne) {
  auto y = normal(2000, 2, 4);
  y.add_(6.0);  // 8.5 standard deviations apart: Bayes error about 1e-5
  EXPECT_GT(jm::c2st(normal(2000, 2, 3), y), 0.995);
}

// N(0, I) against N((1, 0), I): the Bayes classifier's accuracy is Φ(1/2) = 0.6915; a trained MLP
// gets a little less. Scaling both samples by 1000 and shifting them changes nothing after
// z-scoring (the z-scored data agree to float64 rounding, below float32's resolution).
TEST(C2st, ShiftedGaussianScoresNearTheBayesAccuracyAndIgnoresUnits) {
  const auto x = normal(2000, 2, 5);
  auto y = normal(2000, 2, 6);
  y.select(1, 0).add_(1.0);
  const double bayes = 0.5 * std::erfc(-0.5 / std::sqrt(2.0));
  const double score = jm::c2st(x, y);
  EXPECT_GT(score, bayes - 0.04);
  EXPECT_LT(score, bayes + 0.02);
  EXPECT_NEAR(jm::c2st(x * 1000 + 1e4, y * 1000 + 1e4), score, 0.01);
  EXPECT_EQ(jm::c2st(x, y), score);                                                    // deterministic
  EXPECT_NE(jm::c2st(x, y, jm::C2stOptions().seed(2)), score);                         // seeded
  EXPECT_NEAR(jm::c2st(x.to(torch::kFloat), y.to(torch::kFloat)), score, 0.01);        // any float dtype
}

// A posterior check as the benchmark runs it: gaussian_mixture's exact posterior draws against sbibm's
// reference samples for observation 1 score about 0.5; shifting the draws by 0.3 (three standard
// deviations of the narrow component) is detected.
TEST(C2st, ExactPosteriorAgainstSbibmReference) {
  SKIP_WITHOUT_SBIBM();
  auto task = jeffreys::simulators::make_task("gaussian_mixture");
  const auto o = sbibm_files::read("gaussian_mixture", 1);
  const auto ref = o.reference_posterior_samples.narrow(0, 0, 2000);
  const auto ours = task->sample_posterior(o.observation, 2000, gen(7));
  EXPECT_NEAR(jm::c2st(ours, ref), 0.5, 0.04);
  EXPECT_GT(jm::c2st(ours + 0.3, ref), 0.6);
}

TEST(C2st, OptionsAndBadInput) {
  const auto x = normal(300, 3, 8), y = normal(300, 3, 9);
  const auto r = jm::c2st_folds(x, y, jm::C2stOptions().folds(3).max_epochs(4).hidden(5));
  EXPECT_EQ(r.fold_accuracy.size(), 3u);
  EXPECT_EQ(r.fold_epochs, (std::vector<int64_t>{4, 4, 4}));
  // A constant column of x is left unscaled instead of turning into NaN.
  auto c = x.clone();
  c.select(1, 2).fill_(1.0);
  EXPECT_TRUE(std::isfinite(jm::c2st(c, y, jm::C2stOptions().max_epochs(3))));

  EXPECT_THROW(jm::c2st(x, normal(300, 2, 1)), c10::Error);
  EXPECT_THROW(jm::c2st(x.narrow(0, 0, 2), y.narrow(0, 0, 2)), c10::Error);  // 4 rows, 5 folds
  auto bad = y.clone();
  bad[0][0] = std::nan("");
  EXPECT_THROW(jm::c2st(x, bad), c10::Error);
  EXPECT_THROW(jm::c2st(x, y, jm::C2stOptions().folds(1)), c10::Error);
}
