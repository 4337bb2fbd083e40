// `jeffreys train --nproc N` and torchrun-style launches of the real executable: the same run as one
// process (float32 here: to summation order), rank 0 alone writes, a killed rank ends the others
// with an error naming it, and the folder resumes in one process.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <thread>

#include "app/runs/ranks.h"
#include "support/kill_sweep.h"

namespace fs = std::filesystem;

namespace {

#ifdef JEFFREYS_EXE

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("jeffreys_dp_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

std::vector<std::string> train_args(const fs::path& out, int steps) {
  std::vector<std::string> a = {JEFFREYS_EXE, "train", "--out", out.string()};
  for (std::string s : {"flow.layers=4", "flow.hidden=16", "energy.hidden=16", "train.batch_size=64",
                        "train.flow_samples=64", "train.log_every=10", "train.eval_every=20", "train.checkpoint_every=20",
                        "eval.n_test=500", "eval.log_z_samples=2000", "eval.grid=40", "eval.mmd_samples=200",
                        "data.name=two-moons", "data.n_train=200"})
    a.insert(a.end(), {"--set", s});
  a.insert(a.end(), {"--set", "train.steps=" + std::to_string(steps)});
  return a;
}

struct Child {
  pid_t pid;
  fs::path err;
};

/// Starts argv with `env` added, stdout discarded, stderr into a file.
Child start(std::vector<std::string> args, const std::map<std::string, std::string>& env, const fs::path& err) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(e, 2);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return {pid, err};
}

int wait_for(const Child& c) {
  int status = 0;
  ::waitpid(c.pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// metrics.csv as column -> values (empty fields as NaN).
std::map<std::string, std::vector<double>> metrics(const fs::path& dir) {
  std::ifstream in(dir / "metrics.csv");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  std::stringstream hs(line);
  for (std::string f; std::getline(hs, f, ',');) header.push_back(f);
  std::map<std::string, std::vector<double>> out;
  while (std::getline(in, line)) {
    std::stringstream s(line);
    size_t i = 0;
    for (std::string f; i < header.size(); ++i) {
      if (!std::getline(s, f, ',')) f.clear();
      out[header[i]].push_back(f.empty() ? NAN : std::stod(f));
    }
  }
  return out;
}


void expect_close(const std::map<std::string, std::vector<double>>& a, const std::map<std::string, std::vector<double>>& b,
                  double tolerance) {
  for (const char* c : {"F", "P", "R", "lambda_0", "nll_flow", "nll_proxy"}) {
    ASSERT_TRUE(a.count(c) && b.count(c)) << c;
    ASSERT_EQ(a.at(c).size(), b.at(c).size()) << c;
    for (size_t i = 0; i < a.at(c).size(); ++i) {
      const double x = a.at(c)[i], y = b.at(c)[i];
      if (std::isnan(y)) {
        EXPECT_TRUE(std::isnan(x)) << c << " row " << i;
        continue;
      }
      EXPECT_NEAR(x, y, tolerance * std::max(1.0, std::abs(y))) << c << " row " << i;
    }
  }
}

TEST(DataParallelCli, TwoProcessesTrainTheSameRunAsOneAndATorchrunLaunchTheSameAsNproc) {
  const auto d = fresh_dir("same");
  fs::create_directories(d);
  auto one = train_args(d / "one", 40);
  auto two = train_args(d / "two", 40);
  two.insert(two.end(), {"--nproc", "2"});
  ASSERT_EQ(wait_for(start(one, {}, d / "one.err")), 0) << read_text(d / "one.err");
  ASSERT_EQ(wait_for(start(two, {}, d / "two.err")), 0) << read_text(d / "two.err");
  // float32: the ranks sum their halves in another order than one process sums the whole.
  expect_close(metrics(d / "two"), metrics(d / "one"), 2e-4);
  EXPECT_EQ(read_text(d / "two" / "config.toml"), read_text(d / "one" / "config.toml"));

  // Two processes started by hand with torchrun's variables: the same run as --nproc 2, bit for bit.
  const std::string port = std::to_string(jeffreys::app::free_local_port());
  std::vector<Child> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.push_back(start(train_args(d / "env", 40),
                          {{"RANK", std::to_string(r)}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", std::to_string(r)},
                           {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", port}},
                          d / ("env" + std::to_string(r) + ".err")));
  for (auto& c : ranks) EXPECT_EQ(wait_for(c), 0) << read_text(c.err);
  expect_close(metrics(d / "env"), metrics(d / "two"), 0.0);
  fs::remove_all(d);
}

/// Children of `pid` (from /proc) whose environment has RANK=`rank`.
pid_t child_with_rank(pid_t pid, int rank) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  for (pid_t c; in >> c;) {
    std::ifstream env("/proc/" + std::to_string(c) + "/environ", std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
    if (text.find(std::string("\0RANK=", 6) + std::to_string(rank) + '\0') != std::string::npos) return c;
  }
  return -1;
}

TEST(DataParallelCli, AKilledRankEndsTheOthersWithAnErrorNamingItAndTheRunResumesInOneProcess) {
  const auto d = fresh_dir("killed");
  fs::create_directories(d);
  auto args = train_args(d / "run", 300);
  args.insert(args.end(), {"--nproc", "2", "--dist-timeout", "20"});
  auto launcher = start(args, {}, d / "launcher.err");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(d / "run" / "checkpoint.pt") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(fs::exists(d / "run" / "checkpoint.pt")) << read_text(d / "launcher.err");
  const pid_t rank1 = child_with_rank(launcher.pid, 1);
  ASSERT_GT(rank1, 0);
  const auto killed_at = std::chrono::steady_clock::now();
  ::kill(rank1, SIGKILL);
  const int code = wait_for(launcher);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_NE(code, 0);
  EXPECT_LT(took, 20.0) << "the other rank should end within the timeout";
  const auto err = read_text(d / "launcher.err");
  EXPECT_NE(err.find("error: rank 1 of 2 was killed by signal 9"), std::string::npos) << err;
  EXPECT_FALSE(jtest::orphans_remain((d / "run").string())) << "a rank outlived the launcher";
  // The folder holds rank 0's last checkpoint, whole: one process continues it to the end.
  auto resume = train_args(d / "run", 300);
  resume.push_back("--resume");
  ASSERT_EQ(wait_for(start(resume, {}, d / "resume.err")), 0) << read_text(d / "resume.err");
  const auto m = metrics(d / "run");
  ASSERT_FALSE(m.at("step").empty());
  for (size_t i = 0; i < m.at("step").size(); ++i) EXPECT_EQ(m.at("step")[i], 10.0 * (i + 1));
  EXPECT_EQ(m.at("step").back(), 300.0);
  fs::remove_all(d);
}

TEST(DataParallelCli, AMethodWithoutDataParallelTrainingAndABatchSmallerThanTheRanksAreRefused) {
  const auto d = fresh_dir("refused");
  fs::create_directories(d);
  auto wgan = train_args(d / "wgan", 20);
  wgan.insert(wgan.end(), {"--set", "method.name=wgan-gp", "--nproc", "2"});
  EXPECT_NE(wait_for(start(wgan, {}, d / "wgan.err")), 0);
  EXPECT_NE(read_text(d / "wgan.err").find("method 'wgan-gp' does not train data parallel"), std::string::npos)
      << read_text(d / "wgan.err");
  auto odd = train_args(d / "odd", 20);
  odd.insert(odd.end(), {"--set", "train.batch_size=1", "--nproc", "2"});
  EXPECT_NE(wait_for(start(odd, {}, d / "odd.err")), 0);
  EXPECT_NE(read_text(d / "odd.err").find("train.batch_size 1 is smaller than the 2 ranks"), std::string::npos)
      << read_text(d / "odd.err");
  EXPECT_FALSE(fs::exists(d / "odd" / "metrics.csv"));
  fs::remove_all(d);
}

TEST(DataParallelCli, SbiOnTwoProcessesScoresOnRankZeroAlone) {
  const auto d = fresh_dir("sbi");
  fs::create_directories(d);
  std::vector<std::string> args = {JEFFREYS_EXE, "sbi", "--task", "two_moons", "--budget", "300", "--method",
                                   "jeffreys-K4", "--max-epochs", "3", "--posterior-samples", "300", "--c2st-folds", "2",
                                   "--observation", "1", "--observations",
                                   std::string(JEFFREYS_SBIBM_DIR) + "/two_moons", "--out", (d / "run").string(),
                                   "--nproc", "2"};
  ASSERT_EQ(wait_for(start(args, {}, d / "err")), 0) << read_text(d / "err");
  for (const char* f : {"config.json", "training.csv", "summary.json", "c2st.csv", "samples_obs_1.csv"})
    EXPECT_TRUE(fs::exists(d / "run" / f)) << f;
  // One row per sampler: rank 1 trained but did not score.
  const auto c2st = read_text(d / "run" / "c2st.csv");
  EXPECT_EQ(std::count(c2st.begin(), c2st.end(), '\n'), 3) << c2st;
  fs::remove_all(d);
}

#endif

}  // namespace
