// Studies: the committed study files plan what issue 4 asks for, bad study files name the file,
// line and key, and a reduced version of the small-data study (one data set, one size, few steps)
// produces every output, skips finished runs when continued, and refuses to mix configurations.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <filesystem>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "app/config/config.h"
#include "app/studies/study.h"
#include "support/kill_sweep.h"

namespace {
namespace fs = std::filesystem;
namespace ex = jeffreys::app;

const std::string kStudyDir = std::string(JEFFREYS_SOURCE_DIR) + "/experiments/small_data_2d";

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("jeffreys_study_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

/// The committed study's base configuration and arms (its base resolved to an absolute path) with
/// `grids` in place of its own grids.
std::string committed_arms_with(const std::string& grids) {
  std::ifstream in(kStudyDir + "/study.toml");
  std::stringstream text;
  text << in.rdbuf();
  std::string study = text.str();
  study.replace(study.find("base = \"base.toml\""), 18, "base = \"" + kStudyDir + "/base.toml\"");
  return study.substr(0, study.find("[[grid]]")) + grids;
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream s(line);
  std::string f;
  while (std::getline(s, f, ',')) out.push_back(f);
  if (!line.empty() && line.back() == ',') out.push_back("");
  return out;
}

TEST(Study, CommittedStudyPlansEveryArmDataSetSizeSeedAndTheLearningRatePanel) {
  auto s = ex::load_study(kStudyDir + "/study.toml");
  auto runs = ex::plan_study(s);
  // 4 arms x 4 data sets x 3 sizes x 3 seeds, plus the panel's runs not already in the grid:
  // jeffreys at 1e-5 and wgan-gp at 1e-3 and 1e-5 (jeffreys at 1e-3 with 500 points is a grid run).
  EXPECT_EQ(runs.size(), 144u + 4 * 3 * 3);
  std::set<std::string> arms, data;
  for (const auto& r : runs) {
    arms.insert(r.arm);
    data.insert(r.dataset);
    EXPECT_EQ(r.config.data.name, r.dataset);
    EXPECT_EQ(r.config.data.n_train, r.n_train);
    EXPECT_EQ(r.config.seed, r.seed);
    EXPECT_EQ(r.config.method.name, r.arm);  // arms are the library's methods, unchanged
  }
  EXPECT_EQ(arms, (std::set<std::string>{"mle-flow", "jeffreys", "fixed-penalty", "wgan-gp"}));
  EXPECT_EQ(data, (std::set<std::string>{"two-moons", "8-gaussians", "checkerboard", "rings"}));
  for (const auto& r : runs)
    if (r.arm == "wgan-gp" && r.lr == 1e-5) {
      EXPECT_EQ(r.config.optim.lr_proxy, 1e-5);
      EXPECT_EQ(r.config.optim.beta1, 0.5);
    }
  EXPECT_NO_THROW(ex::load_study(kStudyDir + "/tuning.toml"));
}

TEST(Study, CommittedPaperFormulationStudiesPlanTheirGrids) {
  // Issue 16's 2D studies: arms x data sets x sizes x seeds, as their files state.
  const std::pair<const char*, size_t> files[] = {{"paper.toml", 7u * 3 * 3},
                                                  {"paper_more.toml", 7u * 2 * 3},
                                                  {"paper_sizes.toml", 6u * 5 * 2 * 3},
                                                  {"ablation.toml", 11u * 2 * 3},
                                                  {"drift.toml", 4u * 3}};
  for (const auto& [file, runs] : files) {
    const auto plan = ex::plan_study(ex::load_study(kStudyDir + "/" + file));
    EXPECT_EQ(plan.size(), runs) << file;
  }
  // The ablation's fixed-weight arms: the paper formulation's Lagrangian with no constraint left.
  for (const auto& r : ex::plan_study(ex::load_study(kStudyDir + "/ablation.toml")))
    if (r.arm.rfind("fixed-", 0) == 0) {
      EXPECT_TRUE(r.config.method.custom_constraints && r.config.method.constraints.empty()) << r.arm;
      ASSERT_TRUE(r.config.method.custom_objective) << r.arm;
      EXPECT_EQ(r.config.method.objective.at("F"), 1.0) << r.arm;
      EXPECT_EQ(r.config.method.objective.size(), 3u) << r.arm;
    }
  for (const auto& r : ex::plan_study(ex::load_study(kStudyDir + "/drift.toml"))) EXPECT_EQ(r.config.train.steps, 100000);
}

TEST(Study, BadStudyFilesNameTheFileLineAndKey) {
  auto d = fresh_dir("bad");
  write(d / "base.toml", "[train]\nsteps = 10\n");
  auto expect_error = [&](const std::string& text, const std::string& needle) {
    write(d / "s.toml", text);
    try {
      ex::load_study((d / "s.toml").string());
      ADD_FAILURE() << "no error for:\n" << text;
    } catch (const ex::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("s.toml"), std::string::npos) << e.what();
    }
  };
  const std::string arm = "[[arm]]\nname = \"a\"\nset = ['method.name=\"mle-flow\"']\n";
  expect_error("base = \"base.toml\"\n" + arm +
                   "[[grid]]\narms = [\"b\"]\ndatasets = [\"rings\"]\nn_train = [10]\nseeds = [0]\n",
               ":6: key 'grid[0].arms': no [[arm]] named 'b'");
  expect_error("base = \"missing.toml\"\n" + arm, "key 'base'");
  expect_error("base = \"base.toml\"\n" + arm + "[[grid]]\narms = [\"a\"]\ndatasets = [\"rings\"]\nn_train = [10]\n",
               "key 'grid[0].seeds'");
  expect_error("base = \"base.toml\"\n[[arm]]\nname = \"a\"\nset = ['flow.layerz=3']\n"
               "[[grid]]\narms = [\"a\"]\ndatasets = [\"rings\"]\nn_train = [10]\nseeds = [0]\n",
               "flow.layerz");
  expect_error("base = \"base.toml\"\nstepz = 3\n" + arm, ":2: key 'stepz'");
  fs::remove_all(d);
}

TEST(Study, ReducedSmallDataStudyWritesEveryOutputAndContinues) {
  auto d = fresh_dir("reduced");
  // The committed base configuration and arms, on one data set and one size, with few steps.
  const std::string study = committed_arms_with(
      "[[grid]]\narms = [\"mle-flow\", \"jeffreys\", \"fixed-penalty\", \"wgan-gp\"]\ndatasets = [\"two-moons\"]\n"
      "n_train = [200]\nseeds = [0, 1]\n"
      "[[grid]]\narms = [\"jeffreys\", \"wgan-gp\"]\ndatasets = [\"two-moons\"]\nn_train = [500]\nlr = [1e-3, 1e-5]\n"
      "seeds = [0]\n");
  write(d / "study.toml", study);
  const std::vector<std::string> quick = {"train.steps=60",   "train.eval_every=30",   "train.log_every=10",
                                          "train.checkpoint_every=30", "eval.n_test=2000", "eval.log_z_samples=2000",
                                          "eval.grid=40",     "eval.mmd_samples=200"};
  auto s = ex::load_study((d / "study.toml").string(), quick);
  ASSERT_EQ(ex::plan_study(s).size(), 8u + 4u);

  ex::StudyOptions o;
  o.jobs = 2;
  o.executable = JEFFREYS_EXE;
  auto out = (d / "out").string();
  auto r = ex::run_study(s, out, o);
  EXPECT_EQ(r.planned, 12);
  EXPECT_EQ(r.completed, 12);
  EXPECT_EQ(r.failed + r.diverged + r.skipped, 0);

  for (const char* f : {"results.csv", "results.md", "curves.csv", "densities.csv", "train_points.csv"}) {
    ASSERT_TRUE(fs::exists(d / "out" / f)) << f;
    EXPECT_GT(fs::file_size(d / "out" / f), 100u) << f;
  }
  {
    // curves.csv: each run's evaluations (steps 30 and 60), NLL beside each.
    std::ifstream curves(d / "out" / "curves.csv");
    std::string line;
    std::getline(curves, line);
    EXPECT_EQ(line, "arm,dataset,n_train,lr,seed,step,nll_flow,nll_proxy,forward_kl,reverse_kl,jeffreys,mmd");
    std::map<std::string, std::vector<double>> steps;  // arm,dataset,n,lr,seed -> steps
    while (std::getline(curves, line)) {
      auto f = split(line);
      ASSERT_EQ(f.size(), 12u) << line;
      steps[f[0] + "," + f[1] + "," + f[2] + "," + f[3] + "," + f[4]].push_back(std::stod(f[5]));
      EXPECT_TRUE(std::isfinite(std::stod(f[6]))) << line;
      EXPECT_EQ(f[7].empty(), f[0] == "mle-flow" || f[0] == "wgan-gp") << line;
    }
    EXPECT_EQ(steps.size(), 12u);
    for (const auto& [run, s] : steps) EXPECT_EQ(s.back(), 60.0) << run;
  }
  {
    // densities.csv: the truth, both density arms' flows and the last one's energy model, 64 rows
    // of 64 values each; the truth's mass over the extent is about 1.
    std::ifstream maps(d / "out" / "densities.csv");
    std::string line;
    std::getline(maps, line);
    ASSERT_EQ(split(line).size(), 8u + 64u);
    std::map<std::string, double> mass;
    std::map<std::string, int> rows_of;
    while (std::getline(maps, line)) {
      auto f = split(line);
      ASSERT_EQ(f.size(), 72u) << line;
      const double cell = (std::stod(f[4]) - std::stod(f[3])) / 64 * (std::stod(f[6]) - std::stod(f[5])) / 64;
      const auto key = f[1] + ":" + f[2];
      for (size_t i = 8; i < f.size(); ++i) mass[key] += std::stod(f[i]) * cell;
      ++rows_of[key];
    }
    EXPECT_EQ(rows_of, (std::map<std::string, int>{{":truth", 64}, {"mle-flow:flow", 64}, {"jeffreys:flow", 64},
                                                   {"jeffreys:energy", 64}}));
    EXPECT_NEAR(mass[":truth"], 1.0, 0.03);
    for (const char* k : {"mle-flow:flow", "jeffreys:flow", "jeffreys:energy"}) {
      EXPECT_GT(mass[k], 0.3) << k;
      EXPECT_LT(mass[k], 1.1) << k;
    }
  }
  std::ifstream csv(d / "out" / "results.csv");
  std::string line;
  std::getline(csv, line);
  auto header = split(line);
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
  for (const char* c : {"arm", "dataset", "n_train", "seed", "lr", "final_nll", "best_nll", "best_step",
                        "final_nll_proxy", "final_jeffreys"})
    ASSERT_TRUE(col.count(c)) << "results.csv lacks column " << c;
  int rows = 0;
  while (std::getline(csv, line)) {
    auto f = split(line);
    ASSERT_EQ(f.size(), header.size()) << line;
    ++rows;
    EXPECT_EQ(f[col["status"]], "completed");
    EXPECT_GT(std::stod(f[col["final_nll"]]), 0.0);
    EXPECT_LE(std::stod(f[col["best_nll"]]), std::stod(f[col["final_nll"]]));
    EXPECT_GT(std::stod(f[col["final_jeffreys"]]), 0.0);
    const bool has_proxy = f[col["arm"]] == "jeffreys" || f[col["arm"]] == "fixed-penalty";
    EXPECT_EQ(f[col["final_nll_proxy"]].empty(), !has_proxy) << line;
  }
  EXPECT_EQ(rows, 12);
  std::ifstream md(d / "out" / "results.md");
  std::stringstream mds;
  mds << md.rdbuf();
  EXPECT_NE(mds.str().find("| two-moons | 200 |"), std::string::npos);

  // Continuing skips every finished run; a changed configuration is refused, not mixed in.
  auto again = ex::run_study(s, out, o);
  EXPECT_EQ(again.skipped, 12);
  EXPECT_EQ(again.completed, 0);
  auto changed = quick;
  changed.push_back("flow.hidden=8");
  EXPECT_THROW(ex::run_study(ex::load_study((d / "study.toml").string(), changed), out, o), std::runtime_error);

  // A clone: the committed report files, not the run folders. A report keeps every recorded run (the
  // same results.csv, curves.csv and density maps; results.md's tables, whose seconds column is read
  // back at 6 digits), and continuing the study counts them as finished and runs none.
  auto text = [&](const char* f) {
    std::ifstream in(d / "out" / f);
    std::stringstream t;
    t << in.rdbuf();
    return t.str();
  };
  auto tables = [&] { const auto md = text("results.md"); return md.substr(0, md.find("## All groups")); };
  const std::vector<const char*> files = {"results.csv", "curves.csv", "densities.csv", "train_points.csv"};
  std::map<std::string, std::string> before;
  for (const char* f : files) before[f] = text(f);
  const auto tables_before = tables();
  fs::remove_all(d / "out" / "runs");
  ex::report_study(s, out);
  for (const char* f : files) EXPECT_EQ(text(f), before[f]) << f;
  // The tables' means now come from values stored at 6 digits: the same cells to the last printed digit.
  auto numbers = [](const std::string& t) {
    std::vector<double> v;
    std::stringstream in(t);
    for (std::string w; in >> w;) {
      size_t used = 0;
      try {
        const double x = std::stod(w, &used);
        if (used == w.size()) v.push_back(x);
      } catch (const std::exception&) {
      }
    }
    return v;
  };
  const auto was = numbers(tables_before), now = numbers(tables());
  ASSERT_EQ(now.size(), was.size());
  ASSERT_GT(now.size(), 30u);
  for (size_t i = 0; i < now.size(); ++i) EXPECT_NEAR(now[i], was[i], 1.5e-3) << i;
  auto clone = ex::run_study(s, out, o);
  EXPECT_EQ(clone.skipped, 12);
  EXPECT_EQ(clone.completed, 0);
  for (const char* f : files) EXPECT_EQ(text(f), before[f]) << f;
  fs::remove_all(d);
}

TEST(Study, NprocReachesEveryRunAsDataParallelRanks) {
  auto d = fresh_dir("nproc");
  write(d / "study.toml", committed_arms_with("[[grid]]\narms = [\"mle-flow\", \"wgan-gp\"]\ndatasets = "
                                              "[\"two-moons\"]\nn_train = [200]\nseeds = [0]\n"));
  const std::vector<std::string> quick = {"train.steps=40", "train.eval_every=40", "train.log_every=10",
                                          "train.checkpoint_every=40", "eval.n_test=1000", "eval.log_z_samples=1000",
                                          "eval.grid=20", "eval.mmd_samples=100"};
  ex::StudyOptions o;
  o.jobs = 1;
  o.nproc = 2;
  o.executable = JEFFREYS_EXE;
  const auto out = (d / "out").string();
  auto r = ex::run_study(ex::load_study((d / "study.toml").string(), quick), out, o);
  // Maximum likelihood trains on two ranks; WGAN-GP, which has no data-parallel form, is refused by
  // the run itself, which shows that the run was launched with --nproc 2.
  EXPECT_EQ(r.completed, 1);
  EXPECT_EQ(r.failed, 1);
  std::ifstream log(d / "out" / "logs" / "wgan-gp__two-moons__n200__lr1e-04__s0.log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("method 'wgan-gp' does not train data parallel"), std::string::npos) << text;
  EXPECT_TRUE(fs::exists(d / "out" / "runs" / "mle-flow__two-moons__n200__lr1e-03__s0" / "checkpoint.pt"));
  o.nproc = 0;
  EXPECT_THROW(ex::run_study(ex::load_study((d / "study.toml").string(), quick), out, o), std::invalid_argument);
  fs::remove_all(d);
}

#ifdef JEFFREYS_EXE
TEST(Study, AStudyKilledMidRunLeavesNoRunBehindAndContinuesWithNoneLostOrRunTwice) {
  auto d = fresh_dir("killed");
  write(d / "study.toml", committed_arms_with("[[grid]]\narms = [\"mle-flow\", \"jeffreys\"]\ndatasets = "
                                              "[\"two-moons\"]\nn_train = [200]\nseeds = [0, 1]\n"));
  // Runs of a few seconds each, so that the killed study's runs would still be training when looked for.
  const std::vector<std::string> quick = {"train.steps=1000",        "train.eval_every=500", "train.log_every=100",
                                          "train.checkpoint_every=50", "eval.n_test=500",     "eval.log_z_samples=1000",
                                          "eval.grid=30",            "eval.mmd_samples=100"};
  const auto out = (d / "out").string();
  std::vector<std::string> args = {JEFFREYS_EXE, "study", "--config", (d / "study.toml").string(), "--out", out};
  for (const auto& q : quick) args.insert(args.end(), {"--set", q});
  // Killed once the first runs have checkpoints, while they train on.
  ASSERT_TRUE(jtest::run_and_kill_when(args, [&] { return jtest::any_run_has(out + "/runs", "checkpoint.pt"); }))
      << "no run reached a checkpoint";
  // Its runs die with it: nothing trains on into the folder the continued study will use.
  EXPECT_FALSE(jtest::orphans_remain(out + "/runs/")) << "runs of the killed study are still training";

  auto s = ex::load_study((d / "study.toml").string(), quick);
  ex::StudyOptions o;
  o.jobs = 2;
  o.executable = JEFFREYS_EXE;
  auto r = ex::run_study(s, out, o);
  EXPECT_EQ(r.planned, 4);
  EXPECT_EQ(r.completed + r.skipped, 4);
  EXPECT_EQ(r.failed + r.diverged, 0);
  // Every run complete, each logged step once, in order.
  for (const auto& run : ex::plan_study(s)) {
    std::ifstream m(out + "/runs/" + run.name + "/metrics.csv");
    std::string line;
    std::getline(m, line);
    double last = 0;
    int rows = 0;
    while (std::getline(m, line)) {
      const double step = std::stod(split(line).at(0));
      EXPECT_GT(step, last) << run.name << ": " << line;
      last = step;
      ++rows;
    }
    EXPECT_EQ(last, 1000) << run.name;
    EXPECT_EQ(rows, 10) << run.name;
  }
  fs::remove_all(d);
}
#endif

}  // namespace
