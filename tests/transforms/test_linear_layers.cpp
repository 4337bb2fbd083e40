// Bijection contract and specific behaviour of the unconditioned layers: ActNorm, LULinear, Permutation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "jeffreys/transforms/actnorm.h"
#include "jeffreys/transforms/lu_linear.h"
#include "jeffreys/transforms/permutation.h"
#include "support/expect_bijection.h"

namespace T = jeffreys::transforms;
using jtest::max_abs_diff;

namespace {
const auto kD = torch::TensorOptions().dtype(torch::kDouble);

std::shared_ptr<T::ActNormImpl> make_actnorm(int64_t d) {
  auto t = std::make_shared<T::ActNormImpl>(d);
  t->to(torch::kDouble);
  return t;
}

std::shared_ptr<T::LULinearImpl> make_lu(int64_t d) {
  auto t = std::make_shared<T::LULinearImpl>(d);
  t->to(torch::kDouble);
  jtest::randomise_parameters(*t, 0.3);
  return t;
}
}  // namespace

TEST(ActNorm, DataInitialisationStandardisesFirstBatch) {
  torch::manual_seed(31);
  auto an = make_actnorm(3);
  EXPECT_FALSE(an->initialized());
  auto x = torch::randn({200, 3}, kD) * torch::tensor({0.5, 2.0, 4.0}, kD) + torch::tensor({1.0, -3.0, 0.5}, kD);
  auto [z, ld] = an->forward(x);
  EXPECT_TRUE(an->initialized());
  EXPECT_LT(z.mean(0).abs().max().item<double>(), 1e-10);
  EXPECT_LT((z.std(0) - 1).abs().max().item<double>(), 1e-10);
  EXPECT_NEAR(ld[0].item<double>(), -torch::log(x.std(0)).sum().item<double>(), 1e-10);
  // Later batches do not re-initialise.
  auto ls = an->log_scale.detach().clone();
  an->forward(torch::randn({50, 3}, kD) * 10);
  EXPECT_TRUE(torch::equal(an->log_scale, ls));
}

TEST(ActNorm, NoInitialisationInEvalModeOrFromOneSample) {
  auto an = make_actnorm(2);
  an->forward(torch::randn({1, 2}, kD));
  EXPECT_FALSE(an->initialized());
  an->eval();
  an->forward(torch::randn({10, 2}, kD));
  EXPECT_FALSE(an->initialized());
  // The inverse direction never initialises either.
  an->train();
  an->inverse(torch::randn({10, 2}, kD));
  EXPECT_FALSE(an->initialized());
}

TEST(ActNorm, BijectionContractAfterDataInit) {
  torch::manual_seed(32);
  auto an = make_actnorm(3);
  an->forward(torch::randn({64, 3}, kD) * 3 + 1);
  ASSERT_TRUE(an->initialized());
  auto x = torch::randn({5, 3}, kD) * 3 + 1;
  auto z = torch::randn({5, 3}, kD);
  jtest::expect_bijection<T::ActNormImpl>(an, x, z, {}, [] { return make_actnorm(3); });
}

TEST(ActNorm, BijectionContractAfterRandomisingParameters) {
  torch::manual_seed(33);
  auto an = make_actnorm(4);
  an->forward(torch::randn({64, 4}, kD));
  jtest::randomise_parameters(*an, 0.5);
  auto x = torch::randn({5, 4}, kD);
  auto z = torch::randn({5, 4}, kD);
  jtest::expect_bijection<T::ActNormImpl>(an, x, z, {}, [] { return make_actnorm(4); });
}

TEST(ActNorm, CheckpointKeepsInitialisedFlag) {
  torch::manual_seed(34);
  auto an = make_actnorm(2);
  an->forward(torch::randn({20, 2}, kD) * 5);
  jtest::TempPath path("actnorm");
  torch::save(an, path.str());
  auto twin = make_actnorm(2);
  torch::load(twin, path.str());
  EXPECT_TRUE(twin->initialized());
  // A loaded twin must not re-initialise from its first batch.
  auto x = torch::randn({20, 2}, kD);
  EXPECT_TRUE(torch::equal(twin->forward(x).first, an->forward(x).first));
}

TEST(LULinear, StartsAsIdentity) {
  T::LULinearImpl lu(4);
  EXPECT_TRUE(torch::equal(lu.weight(), torch::eye(4)));
  auto x = torch::randn({3, 4});
  auto [z, ld] = lu.forward(x);
  EXPECT_TRUE(torch::allclose(z, x));
  EXPECT_TRUE(torch::equal(ld, torch::zeros({3})));
}

TEST(LULinear, ForwardIsAffineWithLUWeight) {
  torch::manual_seed(35);
  auto lu = make_lu(4);
  torch::NoGradGuard g;
  auto L = torch::tril(lu->lower, -1) + torch::eye(4, kD);
  auto U = torch::triu(lu->upper, 1) + torch::diag(torch::exp(lu->log_diag));
  auto W = torch::mm(L, U);
  EXPECT_LT(max_abs_diff(lu->weight(), W), 1e-12);
  // Dense, not triangular: both factors were randomised.
  EXPECT_GT(torch::tril(W, -1).abs().sum().item<double>(), 0.0);
  EXPECT_GT(torch::triu(W, 1).abs().sum().item<double>(), 0.0);
  auto x = torch::randn({6, 4}, kD);
  auto [z, ld] = lu->forward(x);
  EXPECT_LT(max_abs_diff(z, torch::mm(x, W.t()) + lu->bias), 1e-12);
  auto [sign, logdet] = torch::linalg_slogdet(W);
  EXPECT_NEAR(ld[0].item<double>(), logdet.item<double>(), 1e-10);
}

TEST(LULinear, BijectionContract) {
  for (int64_t d : {2, 5}) {
    SCOPED_TRACE(d);
    torch::manual_seed(36);
    auto lu = make_lu(d);
    auto x = torch::randn({5, d}, kD);
    auto z = torch::randn({5, d}, kD);
    // `lower`'s upper triangle and `upper`'s lower triangle are unused, but each tensor as a whole trains.
    jtest::expect_bijection<T::LULinearImpl>(lu, x, z, {}, [d] { return make_lu(d); });
  }
}

TEST(Permutation, Semantics) {
  T::PermutationImpl p({2, 0, 1});
  auto x = torch::tensor({{10.0, 20.0, 30.0}}, kD);
  auto [z, ld] = p.forward(x);
  // perm[i] is the input feature that becomes output feature i.
  EXPECT_TRUE(torch::equal(z, torch::tensor({{30.0, 10.0, 20.0}}, kD)));
  EXPECT_TRUE(torch::equal(ld, torch::zeros({1}, kD)));
  EXPECT_TRUE(torch::equal(p.inverse(z).first, x));
  EXPECT_THROW(T::PermutationImpl({0, 0, 1}), c10::Error);
  EXPECT_THROW(T::PermutationImpl({0, 3, 1}), c10::Error);
  auto r = T::PermutationImpl::reversal(4);
  EXPECT_TRUE(torch::equal(r->perm, torch::tensor({3, 2, 1, 0}, torch::kLong)));
  // Random permutations: valid, reproducible from the seed, and not all the same.
  auto a = T::PermutationImpl::random(6, 5), b = T::PermutationImpl::random(6, 5), c = T::PermutationImpl::random(6, 6);
  EXPECT_TRUE(torch::equal(a->perm, b->perm));
  EXPECT_TRUE(torch::equal(std::get<0>(a->perm.sort()), torch::arange(6, torch::kLong)));
  EXPECT_TRUE(torch::equal(a->perm.index_select(0, a->inverse_perm), torch::arange(6, torch::kLong)));
  EXPECT_FALSE(torch::equal(a->perm, c->perm));
}

TEST(Permutation, BijectionContractReversal) {
  torch::manual_seed(37);
  auto make = [] {
    std::shared_ptr<T::PermutationImpl> p = T::PermutationImpl::reversal(5);
    p->to(torch::kDouble);  // a double-precision model must keep integer indices working
    return p;
  };
  jtest::BijectionOptions o;
  o.twin_differs = false;  // nothing to learn: the twin is the same permutation
  jtest::expect_bijection<T::PermutationImpl>(make(), torch::randn({5, 5}, kD), torch::randn({5, 5}, kD), {}, make, o);
}

TEST(Permutation, BijectionContractRandom) {
  torch::manual_seed(38);
  uint64_t seed = 3;
  auto make = [&seed] {
    auto p = T::PermutationImpl::random(5, seed++);
    p->to(torch::kDouble);
    return p;
  };
  auto p = make();
  jtest::expect_bijection<T::PermutationImpl>(p, torch::randn({5, 5}, kD), torch::randn({5, 5}, kD), {}, make);
}
