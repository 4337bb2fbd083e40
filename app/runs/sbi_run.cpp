#include "app/runs/sbi_run.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/report/table.h"
#include "jeffreys/core/allocator.h"
#include "jeffreys/core/atomic_file.h"
#include "app/runs/setup.h"
#include "jeffreys/core/threads.h"
#include "jeffreys/distributed/communicator.h"
#include "jeffreys/metrics/c2st.h"
#include "jeffreys/plot/charts.h"
#include "jeffreys/plot/png.h"
#include "jeffreys/simulators/observations.h"
#include "jeffreys/simulators/task.h"

namespace fs = std::filesystem;

namespace jeffreys::app {

std::string sbibm_root() {
  if (const char* env = std::getenv("JEFFREYS_SBIBM_DIR"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  if (std::filesystem::is_directory(JEFFREYS_SBIBM_SOURCE_DIR, ec)) return JEFFREYS_SBIBM_SOURCE_DIR;
  return JEFFREYS_SBIBM_INSTALL_DIR;
}
namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

/// The first kSavedSamples of each sampler's posterior samples (not the reference's, shipped already):
/// enough for a pair plot, small enough to keep beside every run.
constexpr int64_t kSavedSamples = 1000;
void write_samples_csv(const std::vector<std::pair<std::string, torch::Tensor>>& sets, const std::string& path) {
  std::ostringstream csv;
  const int64_t d = sets.front().second.size(1);
  csv << "sampler";
  for (int64_t j = 0; j < d; ++j) csv << ",theta_" << j + 1;
  csv << "\n";
  for (const auto& [name, samples] : sets) {
    if (name == "reference") continue;
    auto s = samples.to(torch::kCPU, torch::kFloat64).contiguous();
    const int64_t n = std::min<int64_t>(kSavedSamples, s.size(0));
    const double* p = s.data_ptr<double>();
    for (int64_t i = 0; i < n; ++i) {
      csv << name;
      for (int64_t j = 0; j < d; ++j) csv << "," << csv_number(p[i * d + j]);
      csv << "\n";
    }
  }
  write_file_atomically(path, csv.str());
}

/// Pairwise marginals of the first dimensions: one row per pair, one column per sample set, all
/// panels of a row on the reference's extent (its 0.5% to 99.5% quantiles, widened by 10%).
plot::Image pair_plot(const std::vector<std::pair<std::string, torch::Tensor>>& sets, int max_dims) {
  const auto& ref = sets.front().second;
  const int64_t d = std::min<int64_t>(ref.size(1), max_dims);
  std::vector<plot::Image> panels;
  auto q = [&](int64_t j, double p) { return torch::quantile(ref.select(1, j), p).item<double>(); };
  // 340 px: "reference: theta1 vs theta2" fits at the normal text size, so every panel of a row
  // has the same title band and the panels line up.
  auto opts = plot::ScatterOptions().width(340).height(340).point_radius(1.0).alpha(0.25);
  const int64_t shown = std::min<int64_t>(ref.size(0), 3000);
  int columns = static_cast<int>(sets.size());
  if (d == 1) {
    for (const auto& [name, x] : sets) {
      auto pts = torch::stack({x.narrow(0, 0, std::min<int64_t>(x.size(0), shown)).select(1, 0),
                               torch::zeros({std::min<int64_t>(x.size(0), shown)}, torch::kDouble)}, 1);
      const double lo = q(0, 0.005), hi = q(0, 0.995), pad = 0.1 * (hi - lo) + 1e-9;
      panels.push_back(plot::scatter(pts, {lo - pad, hi + pad, -1, 1}, name + ": theta1", opts));
    }
    return plot::tile(panels, columns);
  }
  for (int64_t a = 0; a < d; ++a)
    for (int64_t b = a + 1; b < d; ++b) {
      const double lx = q(a, 0.005), hx = q(a, 0.995), ly = q(b, 0.005), hy = q(b, 0.995);
      const double px = 0.1 * (hx - lx) + 1e-9, py = 0.1 * (hy - ly) + 1e-9;
      const std::array<double, 4> extent{lx - px, hx + px, ly - py, hy + py};
      for (const auto& [name, x] : sets) {
        auto pts = torch::stack({x.select(1, a), x.select(1, b)}, 1).narrow(0, 0, std::min<int64_t>(x.size(0), shown));
        panels.push_back(plot::scatter(pts, extent,
                                       name + ": theta" + std::to_string(a + 1) + " vs theta" + std::to_string(b + 1), opts));
      }
    }
  return plot::tile(panels, columns);
}

}  // namespace

SbiSummary sbi_run(const SbiOptions& o, const std::string& dir, std::ostream* progress) {
  // Everything that can fail on bad input happens before the folder is touched.
  auto task = simulators::make_task(o.task);
  if (o.threads < 1) throw std::invalid_argument("threads must be >= 1");
  set_num_threads(o.threads);
  keep_freed_memory();
  if (o.budget < 10) throw std::invalid_argument("--budget must be >= 10, got " + std::to_string(o.budget));
  std::vector<int> numbers = o.observation_numbers;
  if (numbers.empty()) numbers = simulators::observation_numbers(o.observations);
  std::vector<simulators::Observation> obs;
  for (int k : numbers) obs.push_back(simulators::read_observation(simulators::observation_folder(o.observations, k), *task));
  if (fs::exists(dir) && !fs::is_empty(dir)) throw std::runtime_error("output folder '" + dir + "' is not empty");
  if (o.oracle_every < 0 || o.oracle_samples < 10) throw std::invalid_argument("oracle_every must be >= 0 and oracle_samples >= 10");
  const bool writer = !o.communicator || o.communicator->rank() == 0;
  // The oracle: the C2ST over training (rank 0 only; the other ranks wait at their next reduction).
  struct OracleRow {
    int64_t epoch;
    std::string sampler;
    int observation;
    double c2st;
  };
  std::vector<OracleRow> oracle;
  auto support = [&](const torch::Tensor& t) { return task->in_support(t); };
  metrics::C2stOptions c2o;
  c2o.folds(o.c2st_folds);
  sbi::PosteriorOptions popts = o.posterior;
  popts.device = rank_device_of(o.device, "--device");
  if (writer && o.oracle_every > 0) {
    popts.epoch_hook_every = o.oracle_every;
    popts.epoch_hook = [&](int64_t epoch, sbi::PosteriorEstimator& est) {
      for (size_t i = 0; i < obs.size(); ++i) {
        auto g = at::detail::createCPUGenerator(o.seed * 1000003ULL + static_cast<uint64_t>(numbers[i]) + 7777ULL * epoch);
        const auto& ref = obs[i].reference_posterior_samples;
        auto r = ref.narrow(0, 0, std::min<int64_t>(o.oracle_samples, ref.size(0)));
        oracle.push_back({epoch, "flow", numbers[i], metrics::c2st(est.sample(obs[i].observation, r.size(0), g, support), r, c2o)});
        if (est.has_proxy())
          oracle.push_back({epoch, "proxy", numbers[i],
                            metrics::c2st(est.sample_proxy(obs[i].observation, r.size(0), o.proxy_proposals, g, support), r, c2o)});
      }
    };
  }
  sbi::PosteriorEstimator estimator(task->parameter_dim(), task->data_dim(), popts);
  const std::string method_name = o.posterior.custom_formulation ? estimator.formulation().name : o.posterior.method;
  if (o.communicator && o.communicator->size() > 1) {
    estimator.set_communicator(o.communicator);
    // Every rank has checked the folder before rank 0 creates it.
    o.communicator->barrier();
  }
  // The simulations: the same on every rank (one seed).
  auto simulate = [&] {
    auto gen = at::detail::createCPUGenerator(o.seed * 7919 + 17);
    auto theta = task->sample_prior(o.budget, gen);
    return std::make_pair(theta, task->simulate(theta, gen));
  };
  if (!writer) {
    // The other ranks train their shares; rank 0 writes, samples and scores.
    SbiSummary out;
    auto [theta, x] = simulate();
    out.training = estimator.train(theta, x, nullptr);
    out.train_seconds = out.training.seconds;
    return out;
  }

  fs::create_directories(dir + "/plots");
  nlohmann::json cfg;
  cfg["task"] = o.task;
  cfg["observations"] = o.observations;
  cfg["observation_numbers"] = numbers;
  cfg["budget"] = o.budget;
  cfg["seed"] = o.seed;
  cfg["method"] = method_name;
  cfg["posterior_samples"] = o.posterior_samples;
  cfg["proxy_proposals"] = o.proxy_proposals;
  cfg["proxy_mala_steps"] = o.proxy_mala_steps;
  cfg["c2st_folds"] = o.c2st_folds;
  cfg["oracle_every"] = o.oracle_every;
  cfg["oracle_samples"] = o.oracle_samples;
  cfg["device"] = o.device;
  cfg["threads"] = o.threads;  // the summation order, hence the trajectory, depends on it
  // The estimator's options: the method name's suffixes (-K, -E) are resolved there.
  const auto& p = estimator.options();
  cfg["posterior"] = {{"flow", "nsf"},          {"layers", p.layers},
                      {"hidden", p.hidden},     {"bins", p.bins},
                      {"bound", p.bound},       {"energy_hidden", p.energy_hidden},
                      {"energy_depth", p.energy_depth}, {"lr", p.lr},
                      {"lr_proxy", p.lr_proxy}, {"batch_size", p.batch_size},
                      {"validation_fraction", p.validation_fraction}, {"patience", p.patience},
                      {"max_epochs", p.max_epochs}, {"flow_samples", p.flow_samples},
                      {"embedding_features", p.embedding_features}, {"embedding_hidden", p.embedding_hidden},
                      {"proxy_contexts", p.proxy_contexts}};
  nlohmann::json f;
  for (const auto& t : estimator.formulation().objective) f["objective"][t.term] = t.weight;
  for (const auto& c : estimator.formulation().constraints)
    f["constraints"].push_back({{"term", c.term}, {"relative_to", c.relative_to}, {"level", c.level},
                                {"entropy_level", c.entropy_level},
                                {"resilient", c.resilient}, {"slack_cost", c.slack_cost}, {"dual_lr", c.dual_lr},
                                {"dual_init", c.dual_init}});
  cfg["formulation"] = f;
  write_file_atomically(dir + "/config.json", cfg.dump(2) + "\n");

  SbiSummary out;
  out.dir = dir;
  // Simulations: θ ~ prior, x ~ simulator(θ), from the run's seed.
  auto t0 = std::chrono::steady_clock::now();
  auto [theta, x] = simulate();
  out.simulate_seconds = seconds_since(t0);
  if (progress) *progress << o.task << ": " << o.budget << " simulations in " << out.simulate_seconds << " s\n";

  out.training = estimator.train(theta, x, progress);
  out.train_seconds = out.training.seconds;
  {
    std::ostringstream csv;
    for (size_t i = 0; i < out.training.columns.size(); ++i) csv << (i ? "," : "") << out.training.columns[i];
    csv << "\n";
    for (const auto& row : out.training.rows) {
      for (size_t i = 0; i < row.size(); ++i) csv << (i ? "," : "") << csv_number(row[i]);
      csv << "\n";
    }
    write_file_atomically(dir + "/training.csv", csv.str());
  }

  nlohmann::json proxy_sampling = nlohmann::json::array();
  for (size_t i = 0; i < obs.size(); ++i) {
    const auto& ob = obs[i];
    auto sg = at::detail::createCPUGenerator(o.seed * 1000003ULL + static_cast<uint64_t>(numbers[i]));
    std::vector<std::pair<std::string, torch::Tensor>> sets = {{"reference", ob.reference_posterior_samples}};
    auto score = [&](const std::string& sampler, const torch::Tensor& samples, std::chrono::steady_clock::time_point ts) {
      const double c = metrics::c2st(samples, ob.reference_posterior_samples, c2o);
      out.scores.push_back({numbers[i], sampler, c, seconds_since(ts)});
      sets.push_back({sampler, samples});
      if (progress)
        *progress << "observation " << numbers[i] << ", " << sampler << " samples: C2ST " << std::fixed
                  << std::setprecision(3) << c << std::defaultfloat << "\n"
                  << std::flush;
    };
    auto ts = std::chrono::steady_clock::now();
    score("flow", estimator.sample(ob.observation, o.posterior_samples, sg, support), ts);
    if (estimator.has_proxy()) {
      sbi::ProxySampling sampling;
      sampling.proposals = o.proxy_proposals;
      ts = std::chrono::steady_clock::now();
      auto sir = estimator.sample_proxy(ob.observation, o.posterior_samples, sampling, sg, support);
      score("proxy", sir.theta, ts);
      nlohmann::json diag = {{"observation", numbers[i]}, {"sir_ess", sir.ess}, {"proposals", sampling.proposals}};
      if (o.proxy_mala_steps > 0) {
        sampling.mala_steps = o.proxy_mala_steps;
        ts = std::chrono::steady_clock::now();
        auto moved = estimator.sample_proxy(ob.observation, o.posterior_samples, sampling, sg, support);
        score("proxy-mala", moved.theta, ts);
        diag["mala_steps"] = sampling.mala_steps;
        diag["mala_acceptance"] = moved.acceptance;
        diag["mala_step_size"] = moved.step_size;
      }
      proxy_sampling.push_back(diag);
    }
    plot::save_png(pair_plot(sets, 4), dir + "/plots/pairs_obs_" + std::to_string(numbers[i]) + ".png");
    write_samples_csv(sets, dir + "/samples_obs_" + std::to_string(numbers[i]) + ".csv");
  }

  if (!oracle.empty()) {
    std::ostringstream ocsv;
    ocsv << "epoch,sampler,observation,c2st\n";
    std::map<std::pair<std::string, int64_t>, std::pair<double, int>> mean;  // (sampler, epoch) -> (sum, count)
    for (const auto& r : oracle) {
      ocsv << r.epoch << "," << r.sampler << "," << r.observation << "," << csv_number(r.c2st) << "\n";
      auto& m = mean[{r.sampler, r.epoch}];
      m.first += r.c2st;
      ++m.second;
    }
    write_file_atomically(dir + "/oracle.csv", ocsv.str());
    std::map<std::string, std::pair<int64_t, double>> best;  // sampler -> (epoch, mean)
    for (const auto& [key, m] : mean) {
      const double v = m.first / m.second;
      auto it = best.find(key.first);
      if (it == best.end() || v < it->second.second) best[key.first] = {key.second, v};
    }
    for (const auto& [sampler, b] : best) {
      for (const auto& r : oracle)
        if (r.sampler == sampler && r.epoch == b.first) out.scores.push_back({r.observation, sampler + "-oracle", r.c2st, 0});
      out.oracle_epochs[sampler] = b.first;
    }
  }

  nlohmann::json sum;
  sum["task"] = o.task;
  sum["budget"] = o.budget;
  sum["method"] = method_name;
  sum["seed"] = o.seed;
  sum["simulate_seconds"] = out.simulate_seconds;
  sum["train_seconds"] = out.train_seconds;
  sum["epochs"] = out.training.epochs;
  sum["steps"] = out.training.steps;
  sum["best_epoch"] = out.training.best_epoch;
  sum["switch_epoch"] = out.training.switch_epoch;
  sum["best_validation_nll"] = out.training.best_validation_nll;
  sum["stopped_early"] = out.training.stopped_early;
  std::map<std::string, std::vector<double>> by_sampler;
  for (const auto& s : out.scores) {
    sum["c2st"].push_back({{"observation", s.observation}, {"sampler", s.sampler}, {"c2st", s.c2st}});
    by_sampler[s.sampler].push_back(s.c2st);
  }
  for (const auto& [sampler, v] : by_sampler) {
    double m = 0;
    for (double c : v) m += c;
    sum["mean_c2st"][sampler] = m / static_cast<double>(v.size());
  }
  if (std::isfinite(out.training.data_entropy)) {
    sum["data_entropy"] = out.training.data_entropy;
    sum["data_entropy_dequantised"] = out.training.data_entropy_dequantised;
    if (std::isfinite(out.training.data_entropy_knn)) {
      sum["data_entropy_knn"] = out.training.data_entropy_knn;
      const double b = out.training.data_entropy_gaussian_bound;
      sum["data_entropy_gaussian_bound"] = std::isfinite(b) ? nlohmann::json(b) : nlohmann::json(nullptr);
      const double nb = out.training.data_entropy_neural_bound;
      if (std::isfinite(nb)) sum["data_entropy_neural_bound"] = nb;  // -Hn
    }
  }
  if (!proxy_sampling.empty()) sum["proxy_sampling"] = proxy_sampling;
  for (const auto& [sampler, epoch] : out.oracle_epochs) sum["oracle_epoch"][sampler] = epoch;
  write_file_atomically(dir + "/summary.json", sum.dump(2) + "\n");
  std::ostringstream csv;
  csv << "task,budget,method,sampler,seed,observation,c2st,train_seconds\n";
  for (const auto& s : out.scores)
    csv << o.task << "," << o.budget << "," << method_name << "," << s.sampler << "," << o.seed << "," << s.observation
        << "," << csv_number(s.c2st) << "," << csv_number(out.train_seconds) << "\n";
  write_file_atomically(dir + "/c2st.csv", csv.str());
  return out;
}

}  // namespace jeffreys::app
