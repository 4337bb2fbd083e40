// Data parallel on c10d (Gloo): N ranks, each with its block of a batch of B, compute what one process
// computes with batch B, in float64 to 1e-10, for maximum likelihood and the joint method (unconditional and
// conditional); every rank holds the same duals; a checkpoint of N ranks resumes with one.
#include <gtest/gtest.h>
#include <unistd.h>
#include <torch/torch.h>

#include <filesystem>
#include <thread>

#include "app/runs/ranks.h"
#include "jeffreys/constrained/formulation.h"
#include "jeffreys/distributed/communicator.h"
#include "jeffreys/energy/energy.h"
#include "jeffreys/flows/presets.h"
#include "jeffreys/sbi/posterior.h"
#include "jeffreys/train/trainer.h"

namespace tr = jeffreys::train;
namespace fl = jeffreys::flows;
namespace en = jeffreys::energy;
namespace cs = jeffreys::constrained;
namespace dist = jeffreys::distributed;

namespace {

const auto kD = torch::TensorOptions().dtype(torch::kDouble);


struct Problem {
  std::string method;
  int64_t context_features = 0;  ///< 0: unconditional
  int64_t proxy_rows = 0;        ///< conditional: P and R on this many random rows per step
  torch::Tensor data, context;
};

Problem problem(const std::string& method, int64_t context_features, int64_t proxy_rows = 0) {
  auto g = at::detail::createCPUGenerator(5);
  Problem p{method, context_features, proxy_rows, {}, {}};
  if (context_features > 0) {
    p.context = torch::randn({300, context_features}, g, kD);
    p.data = p.context.narrow(1, 0, 2) * 0.5 + torch::randn({300, 2}, g, kD) * 0.3;
  } else {
    p.data = torch::randn({300, 2}, g, kD) * torch::tensor({1.0, 0.5}, kD) + torch::tensor({0.5, -1.0}, kD);
  }
  return p;
}

/// A trainer over fresh models, the same for every rank (same seed); ActNorm so that the
/// data-initialised layers are part of what must agree.
std::unique_ptr<tr::Trainer> make_trainer(const Problem& p, int64_t batch_size = 32) {
  torch::manual_seed(11);
  auto flow = fl::make_flow(fl::FlowOptions(2).layers(3).hidden(16).actnorm(true).context_features(p.context_features));
  flow->to(torch::kDouble);
  auto energy = std::make_shared<en::MLPEnergyImpl>(en::MLPEnergyOptions(2).hidden(16).context_features(p.context_features));
  energy->to(torch::kDouble);
  tr::TrainerOptions o;
  o.batch_size = batch_size;
  o.flow_samples = p.context_features > 0 ? 4 : 64;  // K per context row, or M
  o.proxy_rows = p.proxy_rows;
  o.main.adam.lr = 5e-3;
  o.proxy.adam.lr = 5e-3;
  o.main.clip_grad_norm = 10.0;
  o.seed = 99;
  return std::make_unique<tr::Trainer>(flow, energy, cs::formulation_by_name(p.method), o);
}

struct State {
  std::vector<torch::Tensor> params;
  std::vector<double> lambdas;
  std::vector<std::map<std::string, double>> terms;  ///< each step's estimates
};

/// The flow's parameters and the energy up to its constant. An energy's additive constant has no
/// gradient (log Ẑ absorbs it): what its output bias receives is rounding noise, which Adam scales to
/// steps of size lr, so that bias wanders differently with any other summation order. Compared
/// instead: the energy's other parameters and its values on fixed points minus their mean.
State state_of(tr::Trainer& t, std::vector<std::map<std::string, double>> terms = {}) {
  State s;
  for (const auto& p : t.flow()->parameters()) s.params.push_back(p.detach().clone());
  auto energy = t.energy()->parameters();
  for (size_t i = 0; i + 1 < energy.size(); ++i) s.params.push_back(energy[i].detach().clone());
  {
    torch::NoGradGuard g;
    auto points = torch::linspace(-3, 3, 49, kD).view({-1, 1}).repeat({1, 2});
    points.select(1, 1).mul_(-0.5);
    const bool conditional = t.flow()->context_features() > 0;
    auto e = conditional ? t.energy()->energy(points, torch::zeros({49, t.flow()->context_features()}, kD))
                         : t.energy()->energy(points);
    s.params.push_back(e - e.mean());
  }
  for (const auto& d : t.primal_dual().duals()) s.lambdas.push_back(d.lambda);
  s.terms = std::move(terms);
  return s;
}

void run_steps(tr::Trainer& t, const Problem& p, int steps, std::vector<std::map<std::string, double>>* terms) {
  for (int i = 0; i < steps; ++i) {
    auto est = t.step_on(p.data, p.context);
    if (terms) terms->push_back(est.terms);
  }
}

/// `ranks` threads, each a rank with its own trainer and process group: their states after `steps`.
/// `before` runs on each rank's trainer before it joins (e.g. a checkpoint load), `after` on rank 0's at the end.
std::vector<State> train_ranks(const Problem& p, int ranks, int steps,
                               const std::function<void(tr::Trainer&)>& before = {},
                               const std::function<void(tr::Trainer&)>& after = {}) {
  std::vector<std::unique_ptr<tr::Trainer>> trainers;
  for (int r = 0; r < ranks; ++r) trainers.push_back(make_trainer(p));
  const int port = jeffreys::app::free_local_port();
  std::vector<State> out(ranks);
  std::vector<std::string> errors(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      try {
        dist::LaunchEnvironment env;
        env.rank = r;
        env.world_size = ranks;
        env.master_port = port;
        auto comm = dist::Communicator::connect(env, "gloo", std::chrono::seconds(60));
        if (before) before(*trainers[r]);
        trainers[r]->set_communicator(comm);
        std::vector<std::map<std::string, double>> terms;
        run_steps(*trainers[r], p, steps, &terms);
        out[r] = state_of(*trainers[r], terms);
        comm->barrier();
        if (r == 0 && after) after(*trainers[r]);
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < ranks; ++r) EXPECT_EQ(errors[r], "") << "rank " << r;
  return out;
}

State train_one(const Problem& p, int steps) {
  auto t = make_trainer(p);
  std::vector<std::map<std::string, double>> terms;
  run_steps(*t, p, steps, &terms);
  return state_of(*t, terms);
}

/// Largest |a - b| over a tensor, relative to the largest |b|.
double relative_difference(const State& a, const State& b) {
  double worst = 0;
  EXPECT_EQ(a.params.size(), b.params.size());
  for (size_t i = 0; i < std::min(a.params.size(), b.params.size()); ++i) {
    const double scale = std::max(b.params[i].abs().max().item<double>(), 1e-12);
    worst = std::max(worst, (a.params[i] - b.params[i]).abs().max().item<double>() / scale);
  }
  return worst;
}

void expect_same_run(const State& ranked, const State& one, double tolerance) {
  EXPECT_LT(relative_difference(ranked, one), tolerance);
  ASSERT_EQ(ranked.lambdas.size(), one.lambdas.size());
  for (size_t i = 0; i < one.lambdas.size(); ++i)
    EXPECT_NEAR(ranked.lambdas[i], one.lambdas[i], tolerance * std::max(1.0, std::abs(one.lambdas[i])));
  ASSERT_EQ(ranked.terms.size(), one.terms.size());
  for (size_t s = 0; s < one.terms.size(); ++s)
    for (const auto& [k, v] : one.terms[s])
      EXPECT_NEAR(ranked.terms[s].at(k), v, tolerance * std::max(1.0, std::abs(v))) << "step " << s << " term " << k;
}

class DataParallel : public ::testing::TestWithParam<std::tuple<std::string, int64_t, int, int64_t>> {};

TEST_P(DataParallel, RanksWithTheirShareOfTheBatchMatchOneProcessAfter50Steps) {
  at::set_num_threads(1);
  const auto [method, context_features, ranks, proxy_rows] = GetParam();
  const auto p = problem(method, context_features, proxy_rows);
  const auto one = train_one(p, 50);
  const auto ranked = train_ranks(p, ranks, 50);
  ASSERT_EQ(ranked.size(), static_cast<size_t>(ranks));
  // The same run: parameters, every step's term estimates, the duals.
  expect_same_run(ranked[0], one, 1e-10);
  // Every rank holds exactly the same parameters and duals, not merely close ones.
  for (int r = 1; r < ranks; ++r) {
    EXPECT_EQ(relative_difference(ranked[r], ranked[0]), 0.0) << "rank " << r;
    EXPECT_EQ(ranked[r].lambdas, ranked[0].lambdas) << "rank " << r;
  }
  // And the run moved: a comparison of untrained models would prove nothing.
  auto fresh = make_trainer(p);
  EXPECT_GT(relative_difference(state_of(*fresh), one), 1e-3);
}

// Batch 32 and 64 flow samples (or 4 per context): halves for 2 ranks, unequal blocks for 3; P and R
// on 10 random contexts of the 32 (blocks of 5, or 3, 3, 4).
INSTANTIATE_TEST_SUITE_P(Methods, DataParallel,
                         ::testing::Values(std::make_tuple("mle-flow", 0, 2, 0), std::make_tuple("jeffreys", 0, 2, 0),
                                           std::make_tuple("jeffreys", 3, 2, 0), std::make_tuple("three-dual", 0, 2, 0),
                                           std::make_tuple("jeffreys", 0, 3, 0), std::make_tuple("jeffreys", 3, 3, 0),
                                           std::make_tuple("jeffreys", 3, 2, 10), std::make_tuple("jeffreys", 3, 3, 10)));

TEST(DataParallelResume, ACheckpointOfTwoRanksResumesInOneProcess) {
  at::set_num_threads(1);
  const auto p = problem("jeffreys", 0);
  const auto path = (std::filesystem::temp_directory_path() / ("jeffreys_dp_" + std::to_string(::getpid()) + ".pt")).string();
  const auto ranked = train_ranks(p, 2, 25, {}, [&](tr::Trainer& t) { t.save(path); });
  EXPECT_LT(relative_difference(ranked[0], train_one(p, 25)), 1e-10);
  auto resumed = make_trainer(p);
  resumed->load(path);
  std::filesystem::remove(path);
  ASSERT_EQ(resumed->step_count(), 25);
  run_steps(*resumed, p, 25, nullptr);
  const auto one = train_one(p, 50);
  EXPECT_LT(relative_difference(state_of(*resumed), one), 1e-10);
}

TEST(DataParallelResume, AOneProcessCheckpointResumesOnTwoRanks) {
  at::set_num_threads(1);
  auto p = problem("mle-flow", 0);
  const auto path = (std::filesystem::temp_directory_path() / ("jeffreys_dp3_" + std::to_string(::getpid()) + ".pt")).string();
  {
    auto t = make_trainer(p);
    run_steps(*t, p, 20, nullptr);
    t->save(path);
  }
  auto ranked = train_ranks(p, 2, 20, [&](tr::Trainer& t) { t.load(path); });
  std::filesystem::remove(path);
  const auto one = train_one(p, 40);
  EXPECT_LT(relative_difference(ranked[0], one), 1e-10);
}

TEST(DataParallelSbi, TwoRanksTrainTheSamePosteriorAsOneProcess) {
  at::set_num_threads(1);
  // 300 pairs, 270 for training in batches of 64: the last batch of 14 splits 7 + 7.
  auto g = at::detail::createCPUGenerator(3);
  auto theta = torch::randn({300, 2}, g, kD);
  auto x = theta * 2 + torch::randn({300, 2}, g, kD) * 0.5;
  auto options = [] {
    jeffreys::sbi::PosteriorOptions o;
    o.method = "jeffreys-K4";
    o.layers = 2;
    o.hidden = 16;
    o.energy_hidden = 16;
    o.batch_size = 64;
    o.max_epochs = 4;
    o.seed = 8;
    return o;
  };
  auto probe = torch::randn({20, 2}, g, kD);
  auto x_o = torch::tensor({1.0, -0.5}, kD);
  jeffreys::sbi::PosteriorEstimator one(2, 2, options());
  const auto report = one.train(theta, x);
  const auto expected = one.log_prob(probe, x_o);

  const int port = jeffreys::app::free_local_port();
  std::vector<torch::Tensor> got(2);
  std::vector<std::string> errors(2);
  std::vector<std::unique_ptr<jeffreys::sbi::PosteriorEstimator>> ranks;
  for (int r = 0; r < 2; ++r) ranks.push_back(std::make_unique<jeffreys::sbi::PosteriorEstimator>(2, 2, options()));
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      try {
        dist::LaunchEnvironment env;
        env.rank = r;
        env.world_size = 2;
        env.master_port = port;
        ranks[r]->set_communicator(dist::Communicator::connect(env, "gloo", std::chrono::seconds(60)));
        const auto rep = ranks[r]->train(theta, x);
        EXPECT_EQ(rep.epochs, report.epochs);
        EXPECT_EQ(rep.steps, report.steps);
        got[r] = ranks[r]->log_prob(probe, x_o);
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  ASSERT_EQ(errors, (std::vector<std::string>{"", ""}));
  // The models are float32 (as sbi's): equal to the summation order of the halves.
  EXPECT_LT((got[0] - expected).abs().max().item<double>(), 1e-3 * std::max(1.0, expected.abs().max().item<double>()));
  EXPECT_TRUE(torch::equal(got[0], got[1]));
}

TEST(DataParallelErrors, ABatchSmallerThanTheRanksIsRefused) {
  const auto p = problem("mle-flow", 0);
  std::vector<std::string> errors(3);
  const int port = jeffreys::app::free_local_port();
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<tr::Trainer>> trainers;
  for (int r = 0; r < 3; ++r) trainers.push_back(make_trainer(p, 2));
  for (int r = 0; r < 3; ++r)
    threads.emplace_back([&, r] {
      dist::LaunchEnvironment env;
      env.rank = r;
      env.world_size = 3;
      env.master_port = port;
      auto comm = dist::Communicator::connect(env, "gloo", std::chrono::seconds(30));
      try {
        trainers[r]->set_communicator(comm);
      } catch (const std::invalid_argument& e) {
        errors[r] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors) EXPECT_EQ(e, "train.batch_size 2 is smaller than the 3 ranks");
}

TEST(DataParallelErrors, ARankWhosePeerIsGoneFailsWithinTheTimeoutNamingItself) {
  // Rank 1 never arrives: rank 0 cannot even form the group, and says so in one error.
  dist::LaunchEnvironment env;
  env.world_size = 2;
  env.master_port = jeffreys::app::free_local_port();
  const auto t0 = std::chrono::steady_clock::now();
  try {
    dist::Communicator::connect(env, "gloo", std::chrono::seconds(2));
    FAIL() << "connected without its peer";
  } catch (const dist::CommunicationError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0 of 2"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30.0);
}

TEST(LaunchEnvironment, ReadsTorchrunsVariablesAndNamesABadOne) {
  ::setenv("WORLD_SIZE", "4", 1);
  ::setenv("RANK", "2", 1);
  ::setenv("LOCAL_RANK", "0", 1);
  ::setenv("MASTER_ADDR", "10.0.0.7", 1);
  ::setenv("MASTER_PORT", "29411", 1);
  auto env = dist::LaunchEnvironment::from_environment();
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.rank, 2);
  EXPECT_EQ(env.local_rank, 0);
  EXPECT_EQ(env.master_addr, "10.0.0.7");
  EXPECT_EQ(env.master_port, 29411);
  ::setenv("RANK", "4", 1);
  EXPECT_THROW(dist::LaunchEnvironment::from_environment(), std::invalid_argument);
  ::setenv("RANK", "x", 1);
  try {
    dist::LaunchEnvironment::from_environment();
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "environment variable RANK='x' is not a non-negative integer");
  }
  for (const char* v : {"WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}) ::unsetenv(v);
  EXPECT_EQ(dist::LaunchEnvironment::from_environment().world_size, 1);
}

// Several ranks on one node: a bare "cuda" gives each rank its own GPU (local rank modulo the
// node's GPUs), what NCCL needs; an explicit index, the CPU and one process are left alone. (No GPU
// is needed: the rule is a function of the launch and the device count.)
TEST(LaunchEnvironment, EachLocalRankGetsItsOwnGpuFromABareCuda) {
  dist::LaunchEnvironment env;
  env.world_size = 8;
  env.rank = 5;
  env.local_rank = 5;
  EXPECT_EQ(dist::rank_device(torch::Device("cuda"), env, 8), torch::Device("cuda:5"));
  EXPECT_EQ(dist::rank_device(torch::Device("cuda"), env, 4), torch::Device("cuda:1"));
  EXPECT_EQ(dist::rank_device(torch::Device("cuda:2"), env, 8), torch::Device("cuda:2"));
  EXPECT_EQ(dist::rank_device(torch::Device("cpu"), env, 8), torch::Device("cpu"));
  EXPECT_EQ(dist::rank_device(torch::Device("cuda"), env, 0), torch::Device("cuda"));
  env.world_size = 1;
  env.rank = env.local_rank = 0;
  EXPECT_EQ(dist::rank_device(torch::Device("cuda"), env, 8), torch::Device("cuda"));
}

}  // namespace
