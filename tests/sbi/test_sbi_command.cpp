// `jeffreys sbi` end to end (in-process): a tiny joint-method run writes every file of its folder
// with one C2ST row per observation and sampler; bad input leaves no folder behind.
#include <gtest/gtest.h>

#include "simulators/sbibm_files.h"
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <cmath>
#include <map>
#include <set>
#include <fstream>
#include <iterator>
#include <sstream>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>

#include "app/studies/sbi_benchmark.h"
#include "support/kill_sweep.h"
#include "support/run_cli.h"

namespace {
namespace fs = std::filesystem;

int cli(const std::vector<std::string>& args, std::string* err = nullptr) {
  const auto r = jtest::run_cli(args);
  if (err) *err = r.err;
  return r.code;
}

TEST(SbiCommand, TinyJointRunWritesEveryFile) {
  SKIP_WITHOUT_SBIBM();
  const auto dir = fs::temp_directory_path() / ("jeffreys_sbi_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  ASSERT_EQ(cli({"sbi", "--task", "gaussian_mixture", "--budget", "200", "--method", "jeffreys-F10-K8-E4", "--max-epochs",
                 "5", "--posterior-samples", "500", "--c2st-folds", "2", "--observation", "1", "--observation", "2",
                 "--proxy-mala-steps", "20", "--observations", sbibm_files::root() + "/gaussian_mixture", "--out",
                 dir.string(), "--device", "cpu"}),
            0);
  for (const char* f : {"config.json", "training.csv", "summary.json", "c2st.csv", "plots/pairs_obs_1.png",
                        "plots/pairs_obs_2.png"})
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  std::ifstream in(dir / "c2st.csv");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "task,budget,method,sampler,seed,observation,c2st,train_seconds");
  int rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    EXPECT_EQ(line.rfind("gaussian_mixture,200,jeffreys-F10-K8-E4,", 0), 0u) << line;
  }
  EXPECT_EQ(rows, 6);  // 2 observations x (flow, proxy, proxy-mala)
  // samples_obs_<k>.csv: the first 500 (all) of each sampler's samples, 2 parameters each.
  for (const char* f : {"samples_obs_1.csv", "samples_obs_2.csv"}) {
    std::ifstream samples(dir / f);
    ASSERT_TRUE(samples) << f;
    std::getline(samples, line);
    EXPECT_EQ(line, "sampler,theta_1,theta_2");
    std::map<std::string, int> per_sampler;
    while (std::getline(samples, line)) {
      const auto name = line.substr(0, line.find(','));
      ++per_sampler[name];
      const double t1 = std::stod(line.substr(name.size() + 1));
      EXPECT_TRUE(std::isfinite(t1)) << line;
    }
    EXPECT_EQ(per_sampler, (std::map<std::string, int>{{"flow", 500}, {"proxy", 500}, {"proxy-mala", 500}})) << f;
  }
  // summary.json: the SIR weights' ESS and the MALA steps' acceptance, per observation.
  {
    std::ifstream sum_in(dir / "summary.json");
    const auto sum = nlohmann::json::parse(sum_in);
    ASSERT_EQ(sum.at("proxy_sampling").size(), 2u);
    for (const auto& d : sum.at("proxy_sampling")) {
      EXPECT_GE(d.at("sir_ess").get<double>(), 1.0);
      EXPECT_LE(d.at("sir_ess").get<double>(), d.at("proposals").get<double>());
      EXPECT_EQ(d.at("mala_steps").get<int>(), 20);
      EXPECT_GT(d.at("mala_acceptance").get<double>(), 0.0);
      EXPECT_LT(d.at("mala_acceptance").get<double>(), 1.0);
    }
  }
  // config.json records what the method name's suffixes resolved to.
  std::ifstream cfg_in(dir / "config.json");
  const std::string cfg((std::istreambuf_iterator<char>(cfg_in)), std::istreambuf_iterator<char>());
  EXPECT_NE(cfg.find("\"flow_samples\": 8"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("\"embedding_features\": 4"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("\"device\": \"cpu\""), std::string::npos) << cfg;
  fs::remove_all(dir);
}

// The paper's formulation with entropy-corrected levels and the ESS constraint, with the oracle on:
// oracle.csv has every evaluated epoch, c2st.csv the best epoch's rows as flow-oracle / proxy-oracle,
// summary.json the conditional entropy estimate the levels used.
TEST(SbiCommand, PaperFormulationWithOracleColumns) {
  SKIP_WITHOUT_SBIBM();
  const auto dir = fs::temp_directory_path() / ("jeffreys_sbi_oracle_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  ASSERT_EQ(cli({"sbi", "--task", "two_moons", "--budget", "200", "--method", "paper-H-W0.2-K8", "--max-epochs", "6",
                 "--patience", "4", "--posterior-samples", "300", "--c2st-folds", "2", "--observation", "1", "--oracle-every", "3",
                 "--oracle-samples", "200", "--observations", sbibm_files::root() + "/two_moons", "--out", dir.string()}),
            0);
  std::map<std::string, std::map<int, double>> oracle;  // sampler -> epoch -> C2ST
  {
    std::ifstream in(dir / "oracle.csv");
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "epoch,sampler,observation,c2st");
    while (std::getline(in, line)) {
      std::stringstream ss(line);
      std::string epoch, sampler, observation, c2st;
      std::getline(ss, epoch, ',');
      std::getline(ss, sampler, ',');
      std::getline(ss, observation, ',');
      std::getline(ss, c2st, ',');
      EXPECT_EQ(observation, "1");
      oracle[sampler][std::stoi(epoch)] = std::stod(c2st);
    }
  }
  ASSERT_EQ(oracle.size(), 2u);
  for (const auto& [sampler, by_epoch] : oracle) {
    EXPECT_EQ(by_epoch.size(), 2u) << sampler;  // epochs 3 and 6
    EXPECT_TRUE(by_epoch.count(3) && by_epoch.count(6)) << sampler;
  }
  std::ifstream in(dir / "c2st.csv");
  std::string line;
  std::getline(in, line);
  std::map<std::string, double> scores;
  while (std::getline(in, line)) {  // task,budget,method,sampler,seed,observation,c2st,train_seconds
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string v; std::getline(ss, v, ',');) f.push_back(v);
    ASSERT_EQ(f.size(), 8u) << line;
    EXPECT_EQ(f[2], "paper-H-W0.2-K8");
    scores[f[3]] = std::stod(f[6]);
  }
  ASSERT_TRUE(scores.count("flow") && scores.count("proxy") && scores.count("flow-oracle") && scores.count("proxy-oracle"));
  for (const char* sampler : {"flow", "proxy"}) {
    double best = 2;
    for (const auto& [epoch, c] : oracle[sampler]) best = std::min(best, c);
    EXPECT_DOUBLE_EQ(scores[std::string(sampler) + "-oracle"], best) << sampler;
  }
  std::ifstream sum_in(dir / "summary.json");
  const std::string sum((std::istreambuf_iterator<char>(sum_in)), std::istreambuf_iterator<char>());
  EXPECT_NE(sum.find("\"data_entropy\""), std::string::npos) << sum;
  EXPECT_NE(sum.find("\"data_entropy_dequantised\": false"), std::string::npos) << sum;  // two_moons is continuous
  EXPECT_NE(sum.find("\"oracle_epoch\""), std::string::npos) << sum;
  std::ifstream cfg_in(dir / "config.json");
  const std::string cfg((std::istreambuf_iterator<char>(cfg_in)), std::istreambuf_iterator<char>());
  EXPECT_NE(cfg.find("\"entropy_level\": true"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("\"term\": \"W\""), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("\"patience\": 4"), std::string::npos) << cfg;  // --patience reaches the estimator and is recorded
  fs::remove_all(dir);
}

// The oracle only watches: its sampling and classifiers draw from their own generators, so a run
// with --oracle-every trains and scores exactly as one without it (only the clock differs).
TEST(SbiCommand, OracleLeavesTrainingAndHeadlineUntouched) {
  SKIP_WITHOUT_SBIBM();
  const auto base = fs::temp_directory_path() / ("jeffreys_sbi_watch_" + std::to_string(::getpid()));
  fs::remove_all(base);
  auto run = [&](const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args{"sbi", "--task", "two_moons", "--budget", "200", "--method", "jeffreys-K8",
                                  "--max-epochs", "6", "--posterior-samples", "300", "--c2st-folds", "2",
                                  "--observation", "1", "--observations", sbibm_files::root() + "/two_moons",
                                  "--out", (base / name).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    EXPECT_EQ(cli(args), 0) << name;
  };
  run("plain", {});
  run("watched", {"--oracle-every", "2", "--oracle-samples", "200"});
  // Every column but the last (seconds) of every row; c2st.csv's scores without train_seconds.
  auto without_last_field = [](const fs::path& file, const std::string& skip_sampler) {
    std::ifstream in(file);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
      if (!skip_sampler.empty() && line.find(skip_sampler) != std::string::npos) continue;
      out.push_back(line.substr(0, line.rfind(',')));
    }
    return out;
  };
  const auto plain_training = without_last_field(base / "plain" / "training.csv", "");
  ASSERT_EQ(plain_training.size(), 7u);  // header and 6 epochs
  EXPECT_EQ(without_last_field(base / "watched" / "training.csv", ""), plain_training);
  const auto plain_scores = without_last_field(base / "plain" / "c2st.csv", "");
  ASSERT_EQ(plain_scores.size(), 3u);  // header, flow, proxy
  EXPECT_EQ(without_last_field(base / "watched" / "c2st.csv", "-oracle"), plain_scores);
  fs::remove_all(base);
}

TEST(SbiCommand, BadInputLeavesNoFolder) {
  SKIP_WITHOUT_SBIBM();
  const auto dir = fs::temp_directory_path() / ("jeffreys_sbi_bad_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::string err;
  EXPECT_NE(cli({"sbi", "--task", "three_moons", "--out", dir.string()}, &err), 0);
  EXPECT_NE(err.find("three_moons"), std::string::npos) << err;
  EXPECT_NE(cli({"sbi", "--task", "two_moons", "--observations", "/nonexistent/sbibm", "--out", dir.string()}, &err), 0);
  EXPECT_NE(err.find("/nonexistent/sbibm"), std::string::npos) << err;
  EXPECT_NE(cli({"sbi", "--task", "two_moons", "--method", "gan", "--observations",
                 sbibm_files::root() + "/two_moons", "--out", dir.string()}, &err), 0);
  EXPECT_NE(err.find("gan"), std::string::npos) << err;
  const std::vector<std::string> quick = {"sbi", "--task", "two_moons", "--observations", sbibm_files::root() + "/two_moons",
                                          "--out", dir.string(), "--device"};
  auto with = [&](const std::string& device) { auto a = quick; a.push_back(device); return a; };
  EXPECT_NE(cli(with("gpu"), &err), 0);
  EXPECT_NE(err.find("--device: 'gpu' is not a device (cpu or cuda[:N])"), std::string::npos) << err;
  if (!torch::cuda::is_available()) {
    EXPECT_NE(cli(with("cuda"), &err), 0);
    EXPECT_NE(err.find("--device: 'cuda', but this machine (or this LibTorch build) has no CUDA device"), std::string::npos)
        << err;
  }
  EXPECT_FALSE(fs::exists(dir));
}

}  // namespace

#include "app/config/config.h"
#include "app/studies/sbi_benchmark.h"

namespace {

TEST(SbiBenchmark, CommittedFilesLoadAndBadOnesNameFileLineAndKey) {
  SKIP_WITHOUT_SBIBM();
  namespace ex = jeffreys::app;
  const std::string dir = std::string(JEFFREYS_SOURCE_DIR) + "/experiments/sbibm/";
  ::setenv("JEFFREYS_SBIBM_DIR", sbibm_files::root().c_str(), 1);
  auto full = ex::load_sbi_benchmark(dir + "benchmark.toml");
  EXPECT_EQ(full.tasks.size(), 8u);
  EXPECT_EQ(full.budgets, (std::vector<int64_t>{100, 300, 1000, 10000}));
  EXPECT_EQ(full.budgets_for("slcp"), (std::vector<int64_t>{100, 300, 1000, 10000, 100000}));
  EXPECT_EQ(full.budgets_for("sir"), full.budgets);
  EXPECT_EQ(full.all_budgets().back(), 100000);
  EXPECT_DOUBLE_EQ(full.reference.at("slcp").at(10000), 0.901);
  EXPECT_TRUE(fs::exists(full.observations_root + "/lotka_volterra/obs_1"));
  EXPECT_NO_THROW(ex::load_sbi_benchmark(dir + "low_data.toml"));
  EXPECT_NO_THROW(ex::load_sbi_benchmark(dir + "formulations.toml"));
  for (const char* f : {"cost.toml", "pairs.toml"}) EXPECT_NO_THROW(ex::load_sbi_benchmark(dir + f)) << f;
  const auto paper = ex::load_sbi_benchmark(dir + "paper.toml");
  // A study run beside another for paired differences: the same seeds (so the same simulations),
  // observations and evaluation arguments (the oracle).
  auto expect_same_protocol = [](const auto& study, const auto& base) {
    EXPECT_EQ(study.seeds, base.seeds);
    EXPECT_EQ(study.observations, base.observations);
    EXPECT_EQ(study.args, base.args);
  };
  // -Hc against -H: the paper_tasks protocol (seeds, observations, oracle) on gaussian_linear.
  const auto capped = ex::load_sbi_benchmark(dir + "capped_entropy.toml");
  const auto paper_tasks = ex::load_sbi_benchmark(dir + "paper_tasks.toml");
  EXPECT_EQ(capped.methods, (std::vector<std::string>{"paper-Hc", "paper-Hc-T"}));
  expect_same_protocol(capped, paper_tasks);
  // The slides' other two budgets, with the same arms as paper.toml.
  auto budgets = ex::load_sbi_benchmark(dir + "paper_budgets.toml");
  EXPECT_EQ(budgets.budgets, (std::vector<int64_t>{500, 2500}));
  EXPECT_EQ(budgets.methods, paper.methods);
  // Below the slides' budgets, and beyond their two tasks, with the same arms and oracle.
  auto low = ex::load_sbi_benchmark(dir + "paper_low.toml");
  EXPECT_EQ(low.budgets, (std::vector<int64_t>{100, 300}));
  EXPECT_EQ(low.methods, budgets.methods);
  EXPECT_EQ(low.args, budgets.args);
  auto tasks = ex::load_sbi_benchmark(dir + "paper_tasks.toml");
  EXPECT_EQ(tasks.tasks, (std::vector<std::string>{"gaussian_linear", "sir"}));
  EXPECT_EQ(tasks.budgets, (std::vector<int64_t>{100, 300, 500, 1000, 2500}));
  EXPECT_EQ(tasks.methods, budgets.methods);
  EXPECT_EQ(tasks.args, budgets.args);
  // The proxy-sampler study: every run also scores SIR followed by 100 MALA steps.
  auto ps = ex::load_sbi_benchmark(dir + "proxy_sampler.toml");
  EXPECT_EQ(ps.methods, (std::vector<std::string>{"jeffreys-F10", "paper-H"}));
  EXPECT_EQ(ps.args, (std::vector<std::string>{"--proxy-mala-steps", "100"}));
  // The moving-average tilt on SBI: paper.toml's cells and protocol, so paper.toml's runs are its paired comparison.
  const auto tilt = ex::load_sbi_benchmark(dir + "tilt_average.toml");
  EXPECT_EQ(tilt.methods, (std::vector<std::string>{"paper-H-T0.999", "paper-H-T0.95"}));
  EXPECT_EQ(tilt.tasks, paper.tasks);
  EXPECT_EQ(tilt.budgets, paper.budgets);
  expect_same_protocol(tilt, paper);

  ::unsetenv("JEFFREYS_SBIBM_DIR");
  const auto tmp = fs::temp_directory_path() / ("jeffreys_sbib_" + std::to_string(::getpid()) + ".toml");
  auto expect_error = [&](const std::string& text, const std::string& needle) {
    std::ofstream(tmp) << text;
    try {
      ex::load_sbi_benchmark(tmp.string());
      ADD_FAILURE() << "no error for " << text;
    } catch (const ex::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const std::string root = "observations_root = \"" + sbibm_files::root() + "\"\n";
  expect_error(root + "tasks = [\"two_moons\"]\nbudgets = [100]\nmethods = [\"npe\"]\nseeds = [0]\nbudget = 3\n",
               ":6: key 'budget'");
  expect_error(root + "tasks = [\"two_moons\"]\nbudgets = [\"many\"]\nmethods = [\"npe\"]\nseeds = [0]\n", ":3: key 'budgets'");
  expect_error(root + "tasks = [\"two_moons\"]\nbudgets = [100]\nmethods = [\"npe\"]\nseeds = [0]\n"
                      "more_budgets = { slcp = [100000] }\n",
               ":6: key 'more_budgets.slcp'");
  expect_error(root + "tasks = [\"three_moons\"]\nbudgets = [100]\nmethods = [\"npe\"]\nseeds = [0]\n", "three_moons");
  fs::remove(tmp);
  ::unsetenv("JEFFREYS_SBIBM_DIR");
}

TEST(SbiBenchmark, ReportAveragesObservationsThenSeedsAndShowsNoSpreadForOneSeed) {
  namespace ex = jeffreys::app;
  const auto out = fs::temp_directory_path() / ("jeffreys_sbir_" + std::to_string(::getpid()));
  fs::remove_all(out);
  auto write_run = [&](const std::string& method, int seed, double c1, double c2, int budget = 100) {
    const std::string b = std::to_string(budget);
    const auto dir = out / "runs" / ("two_moons__" + b + "__" + method + "__s" + std::to_string(seed));
    fs::create_directories(dir);
    std::ofstream(dir / "c2st.csv") << "task,budget,method,sampler,seed,observation,c2st,train_seconds\n"
                                    << "two_moons," << b << "," << method << ",flow," << seed << ",1," << c1 << ",2\n"
                                    << "two_moons," << b << "," << method << ",flow," << seed << ",2," << c2 << ",2\n";
  };
  write_run("npe", 0, 0.6, 0.8);  // seed mean 0.7
  write_run("npe", 1, 0.8, 1.0);  // seed mean 0.9: mean 0.8, std (unbiased) 0.141
  write_run("jeffreys", 0, 0.5, 0.7);
  write_run("npe", 0, 0.55, 0.55, 100000);  // a budget listed for this task only (more_budgets)
  ex::SbiBenchmarkConfig c;
  c.file = "test.toml";
  c.tasks = {"two_moons"};
  c.budgets = {100};
  c.more_budgets = {{"two_moons", {100000}}};
  c.methods = {"npe", "jeffreys"};
  c.seeds = {0, 1};
  c.observations = {1, 2};
  c.pair_budgets = {100, 1000};
  // The first seed's samples of the first observation that has them go to samples_two_moons_100.csv.
  std::ofstream(out / "runs" / "two_moons__100__npe__s0" / "samples_obs_2.csv") << "sampler,theta_1,theta_2\nflow,1,2\n";
  std::ofstream(out / "runs" / "two_moons__100__jeffreys__s0" / "samples_obs_2.csv")
      << "sampler,theta_1,theta_2\nflow,3,4\nproxy,5,6\n";
  std::ofstream(out / "runs" / "two_moons__100__npe__s1" / "samples_obs_1.csv") << "sampler,theta_1,theta_2\nflow,7,8\n";
  // The joint run's proxy diagnostics (summary.json's proxy_sampling): gathered into proxy_sampling.csv.
  std::ofstream(out / "runs" / "two_moons__100__jeffreys__s0" / "summary.json")
      << R"({"proxy_sampling": [{"observation": 1, "sir_ess": 10, "proposals": 1000, "mala_steps": 50,
          "mala_acceptance": 0.5, "mala_step_size": 0.02}, {"observation": 2, "sir_ess": 30, "proposals": 1000,
          "mala_steps": 50, "mala_acceptance": 0.7, "mala_step_size": 0.01}]})";
  const auto written = ex::report_sbi_benchmark(c, out.string());
  EXPECT_EQ(written, (std::vector<std::string>{"results.csv", "results.md", "proxy_sampling.csv", "samples_two_moons_100.csv"}));
  {
    std::ifstream ps(out / "proxy_sampling.csv");
    const std::string text((std::istreambuf_iterator<char>(ps)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "task,budget,method,seed,observation,proposals,sir_ess,mala_steps,mala_acceptance,mala_step_size\n"
                    "two_moons,100,jeffreys,0,1,1000,10,50,0.5,0.02\ntwo_moons,100,jeffreys,0,2,1000,30,50,0.7,0.01\n");
  }
  {
    std::ifstream pairs(out / "samples_two_moons_100.csv");
    const std::string text((std::istreambuf_iterator<char>(pairs)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "method,sampler,observation,theta_1,theta_2\nnpe,flow,2,1,2\njeffreys,flow,2,3,4\njeffreys,proxy,2,5,6\n");
  }
  std::ifstream in(out / "results.md");
  const std::string md((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(md.find("| two_moons | 100 | – | 0.800 ± 0.141 (2) | 0.600 (1) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| two_moons | 100000 | – | 0.550 (1) | – |"), std::string::npos) << md;
  EXPECT_NE(md.find("| two_moons | 100 | jeffreys | 1000 | 20 (10–30) | 0.60 (0.50–0.70) |"), std::string::npos) << md;
  std::ifstream csv(out / "results.csv");
  int lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  EXPECT_EQ(lines, 1 + 8);

  // A clone: the run folders are not there, the committed tables are. A second report gives the same
  // tables from results.csv and proxy_sampling.csv, and keeps a recorded run the configuration no
  // longer plans; continuing the benchmark counts the recorded runs as finished and launches none
  // (/bin/false would fail every run it started).
  auto read = [&](const char* name) {
    std::ifstream f(out / name);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  };
  const auto md_before = read("results.md"), csv_before = read("results.csv"), ps_before = read("proxy_sampling.csv");
  fs::remove_all(out / "runs");
  std::ofstream(out / "results.csv", std::ios::app) << "slcp,1000,npe,flow,4,1,0.9,3\n";
  ex::report_sbi_benchmark(c, out.string());
  EXPECT_EQ(read("results.md"), md_before);
  EXPECT_EQ(read("proxy_sampling.csv"), ps_before);
  EXPECT_EQ(read("results.csv"), csv_before + "slcp,1000,npe,flow,4,1,0.9,3\n");
  c.seeds = {0};  // every planned run (npe, seed 0, at 100 and 100000) is recorded
  c.methods = {"npe"};
  ex::SbiBenchmarkOptions options;
  options.executable = "/bin/false";
  EXPECT_EQ(ex::run_sbi_benchmark(c, out.string(), options), 0);
  EXPECT_TRUE(fs::is_empty(out / "runs"));
  // Its report (now npe, seed 0 only) still holds all 9 rows: the others are kept as not planned.
  const auto after = read("results.csv");
  EXPECT_EQ(std::count(after.begin(), after.end(), '\n'), 1 + 9);
  EXPECT_NE(after.find("two_moons,100,npe,flow,1,2,1,2\n"), std::string::npos) << after;
  fs::remove_all(out);
}

TEST(SbiBenchmark, ASubsetRunsOnlyItsTasksBudgetsMethodsAndSeedsAndNamesWhatTheFileLacks) {
  namespace ex = jeffreys::app;
  const auto out = fs::temp_directory_path() / ("jeffreys_sbisub_" + std::to_string(::getpid()));
  fs::remove_all(out);
  ex::SbiBenchmarkConfig c;
  c.file = "bench.toml";
  c.tasks = {"two_moons", "sir"};
  c.budgets = {100, 300};
  c.methods = {"npe", "paper-H"};
  c.seeds = {0, 1};
  c.observations = {1};
  c.observations_root = "obs";
  ex::SbiBenchmarkOptions options;
  options.executable = "/bin/false";  // every run it launches fails: the failures count the launches
  auto launched = [&](const ex::SbiBenchmarkSubset& only) {
    fs::remove_all(out);
    const auto failed = ex::run_sbi_benchmark(c, out.string(), options, only);
    std::set<std::string> logs;
    for (const auto& f : fs::directory_iterator(out / "logs")) logs.insert(f.path().stem().string());
    EXPECT_EQ(static_cast<int64_t>(logs.size()), failed);
    return logs;
  };
  EXPECT_EQ(launched({}).size(), 16u);
  const auto sir = launched({{"sir"}, {}, {}, {}});
  EXPECT_EQ(sir.size(), 8u);
  for (const auto& name : sir) EXPECT_EQ(name.rfind("sir__", 0), 0u) << name;
  const auto sir300 = launched({{"sir"}, {300}, {}, {}});
  EXPECT_EQ(sir300, (std::set<std::string>{"sir__300__npe__s0", "sir__300__npe__s1", "sir__300__paper-H__s0",
                                           "sir__300__paper-H__s1"}));
  EXPECT_EQ(launched({{}, {100}, {}, {}}).size(), 8u);
  EXPECT_EQ(launched({{"two_moons"}, {300}, {"paper-H"}, {1}}), (std::set<std::string>{"two_moons__300__paper-H__s1"}));
  EXPECT_EQ(launched({{}, {}, {"npe"}, {}}).size(), 8u);
  // What the file does not plan is an error naming the file, before anything runs.
  fs::remove_all(out);
  try {
    ex::run_sbi_benchmark(c, out.string(), options, {{"slcp"}, {}, {}, {}});
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("bench.toml: plans no task 'slcp' (its tasks: 'two_moons', 'sir')"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(ex::run_sbi_benchmark(c, out.string(), options, {{}, {1000}, {}, {}}), std::invalid_argument);
  EXPECT_THROW(ex::run_sbi_benchmark(c, out.string(), options, {{}, {}, {"paper"}, {}}), std::invalid_argument);
  try {
    ex::run_sbi_benchmark(c, out.string(), options, {{}, {}, {}, {2}});
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "bench.toml: plans no seed 2 (its seeds: 0, 1)");
  }
  EXPECT_FALSE(fs::exists(out));
  fs::remove_all(out);
}

#ifdef JEFFREYS_EXE
TEST(SbiBenchmark, ABenchmarkKilledMidRunContinuesWithNoRunLostOrRunTwice) {
  SKIP_WITHOUT_SBIBM();
  namespace ex = jeffreys::app;
  const auto d = fs::temp_directory_path() / ("jeffreys_sbik_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  const auto file = (d / "benchmark.toml").string();
  std::ofstream(file) << "observations_root = \"" << sbibm_files::root() << "\"\n"
                      << "tasks = [\"two_moons\"]\nbudgets = [300]\nmethods = [\"npe\", \"jeffreys\"]\n"
                         "seeds = [0, 1]\nobservations = [1]\n"
                         "args = [\"--max-epochs\", \"20\", \"--posterior-samples\", \"300\", \"--c2st-folds\", \"2\"]\n";
  const auto out = (d / "out").string();
  const auto runs = out + "/runs";
  // Killed once a run has finished while the others are still training.
  ASSERT_TRUE(jtest::run_and_kill_when({JEFFREYS_EXE, "sbi-benchmark", "--config", file, "--out", out, "--jobs", "2"},
                                       [&] { return jtest::any_run_has(runs, "c2st.csv"); }))
      << "no run finished";
  EXPECT_FALSE(jtest::orphans_remain(runs + "/")) << "runs of the killed benchmark are still training";
  std::map<std::string, fs::file_time_type> finished_before;
  for (const auto& r : fs::directory_iterator(runs))
    if (fs::exists(r.path() / "c2st.csv")) finished_before[r.path().filename()] = fs::last_write_time(r.path() / "c2st.csv");
  ASSERT_FALSE(finished_before.empty());

  ex::SbiBenchmarkOptions o;
  o.jobs = 2;
  o.executable = JEFFREYS_EXE;
  ASSERT_EQ(ex::run_sbi_benchmark(ex::load_sbi_benchmark(file), out, o), 0);
  // Runs that had finished were not run again; every run is complete, with one row per sampler.
  for (const auto& [name, t] : finished_before) EXPECT_EQ(fs::last_write_time(runs + "/" + name + "/c2st.csv"), t) << name;
  std::set<std::string> names;
  for (const auto& r : fs::directory_iterator(runs)) {
    names.insert(r.path().filename());
    std::ifstream in(r.path() / "c2st.csv");
    int rows = -1;
    for (std::string line; std::getline(in, line);) ++rows;
    EXPECT_EQ(rows, r.path().filename().string().find("npe") != std::string::npos ? 1 : 2) << r.path();
    for (const auto& f : fs::directory_iterator(r.path()))
      EXPECT_EQ(f.path().filename().string().find(".tmp."), std::string::npos) << f.path();
  }
  EXPECT_EQ(names, (std::set<std::string>{"two_moons__300__jeffreys__s0", "two_moons__300__jeffreys__s1",
                                          "two_moons__300__npe__s0", "two_moons__300__npe__s1"}));
  std::ifstream csv(out + "/results.csv");
  int lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  EXPECT_EQ(lines, 1 + 2 * 1 + 2 * 2);  // header; npe: flow per seed; jeffreys: flow and proxy per seed
  fs::remove_all(d);
}
#endif

}  // namespace
