// The command line, in-process and as a real process: help, bad input that leaves nothing behind,
// the demo's run folder, sampling, and interrupted runs (including kill -9) that resume exactly.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/run_cli.h"
#include "app/config/schema.h"
#include "app/runs/run.h"
#include "jeffreys/core/atomic_file.h"

namespace {
namespace fs = std::filesystem;

const auto cli = jtest::run_cli;

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("jeffreys_cli_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

/// A small, fast configuration (seconds) exercising every part of a run.
std::vector<std::string> small_overrides() {
  return {"--set", "flow.layers=4",        "--set", "flow.hidden=16",      "--set", "energy.hidden=16",
          "--set", "train.batch_size=64",  "--set", "train.flow_samples=64", "--set", "train.log_every=10",
          "--set", "train.eval_every=30",  "--set", "train.checkpoint_every=20", "--set", "eval.n_test=500",
          "--set", "eval.log_z_samples=2000", "--set", "eval.grid=40",    "--set", "eval.mmd_samples=200",
          "--set", "data.name=two-moons",  "--set", "data.n_train=200"};
}

std::vector<std::string> csv_without_wall(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::stringstream s(line);
    std::string f, kept;
    int i = 0;
    while (std::getline(s, f, ',')) {
      if (i++ != 1) kept += f + ",";  // column 1 is wall_seconds
    }
    rows.push_back(kept);
  }
  return rows;
}

TEST(Cli, HelpForEveryCommand) {
  auto r = cli({"--help"});
  EXPECT_EQ(r.code, 0);
  const std::vector<std::string> commands = {"train", "sample", "eval", "plot", "demo", "study", "sbi", "sbi-benchmark",
                                             "autoencode", "image-study", "keys"};
  for (const auto& c : commands) EXPECT_NE(r.out.find(c), std::string::npos) << c;
  for (const auto& c : commands) {
    auto h = cli({c, "--help"});
    EXPECT_EQ(h.code, 0) << c;
    EXPECT_NE(h.out.find("--"), std::string::npos) << c;
  }
  EXPECT_EQ(cli({"frobnicate"}).code, 2);
  EXPECT_EQ(cli({"train"}).code, 2);  // --out is required
  // The configuration keys, from the schema: every one in `train --help`, with its default in `keys`.
  const std::string train_help = cli({"train", "--help"}).out;
  const auto keys = cli({"keys"});
  EXPECT_EQ(keys.code, 0);
  for (const auto& k : jeffreys::app::config_keys()) {
    EXPECT_NE(train_help.find(" " + k.key()), std::string::npos) << k.key();
    EXPECT_NE(keys.out.find("| `" + k.key() + "` |"), std::string::npos) << k.key();
  }
}

TEST(Cli, AutoencodeWritesModelCodesAndReconstructions) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed (make test installs it)";
  const auto d = fresh_dir("autoencode");
  fs::create_directories(d);
  const auto cfg = (d / "ae.toml").string();
  std::ofstream(cfg) << "[data]\nmax_train = 600\nmax_test = 100\n[autoencoder]\nlatent_dims = [16, 6]\nwidth = 8\nepochs = 2\n";
  const auto out = (d / "ae").string();
  auto r = cli({"autoencode", "--config", cfg, "--out", out, "--latent-dim", "6"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("latent size 6"), std::string::npos) << r.out;
  for (const char* f : {"model.pt", "latents_train.csv", "latents_test.csv", "reconstructions.png", "metrics.csv",
                        "summary.json"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  std::ifstream codes(out + "/latents_test.csv");
  std::string header;
  std::getline(codes, header);
  EXPECT_EQ(header, "z0,z1,z2,z3,z4,z5");
  // A second call refuses the non-empty folder rather than overwrite a trained model.
  r = cli({"autoencode", "--config", cfg, "--out", out});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not empty"), std::string::npos) << r.err;
  fs::remove_all(d);
}

TEST(Cli, BadConfigWritesNothing) {
  const auto dir = fresh_dir("bad");
  const auto cfg = fs::temp_directory_path() / "jeffreys_cli_bad.toml";
  std::ofstream(cfg) << "[flow]\nlayers = 4\nlayer = 3\n";
  auto r = cli({"train", "--config", cfg.string(), "--out", dir.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(cfg.string() + ":3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("flow.layer"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir));
  // Bad data: a malformed CSV is reported with file and line before the folder is made.
  const auto csv = fs::temp_directory_path() / "jeffreys_cli_bad.csv";
  std::ofstream(csv) << "x,y\n1,2\n3,oops\n";
  r = cli({"train", "--out", dir.string(), "--set", "data.name=csv", "--set", "data.csv=" + csv.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(csv.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("3"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir));
  // A subset larger than the training rows: named with the file, before the folder is made.
  const auto small = fs::temp_directory_path() / "jeffreys_cli_small.csv";
  std::ofstream(small) << "x,y\n1,2\n3,4\n5,6\n7,8\n";
  r = cli({"train", "--out", dir.string(), "--set", "data.name=csv", "--set", "data.csv=" + small.string(), "--set",
           "data.validation_fraction=0.25", "--set", "data.subset=10"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(small.string() + ": data.subset = 10, but only 3 training rows"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir));
}

TEST(Cli, MalformedInputsThroughTheCommandLineLeaveNoFolder) {
  struct Case {
    const char* name;
    const char* text;
    bool toml;   // a configuration file; otherwise a CSV data file
    const char* where;  // expected in the message after the path (line, and key or column)
  };
  const Case cases[] = {
      {"unknown_key", "[train]\nstep = 5\n", true, ":2: key 'train.step'"},
      {"wrong_type", "[flow]\nhidden = \"wide\"\n", true, ":2: key 'flow.hidden'"},
      {"bad_value", "[optim]\nlr = -1.0\n", true, ":2: key 'optim.lr'"},
      {"syntax", "[data\nname = 1\n", true, ":1"},
      {"ragged", "x,y\n1,2\n3\n", false, ":3"},
      {"not_a_number", "1,2\n3,abc\n", false, ":2"},
      {"nan", "a,b\n1,nan\n", false, ":2"},
      {"empty", "", false, ""},
      {"junk", "\x01\x02\x00\xff\xfe", false, ""},
  };
  for (const auto& c : cases) {
    const auto dir = fresh_dir(std::string("malformed_") + c.name);
    const auto file = fs::temp_directory_path() / (std::string("jeffreys_cli_") + c.name + (c.toml ? ".toml" : ".csv"));
    std::ofstream(file, std::ios::binary).write(c.text, static_cast<std::streamsize>(std::char_traits<char>::length(c.text) +
                                                                                   (std::string(c.name) == "junk" ? 3 : 0)));
    std::vector<std::string> args = {"train", "--out", dir.string()};
    if (c.toml) {
      args.insert(args.end(), {"--config", file.string()});
    } else {
      args.insert(args.end(), {"--set", "data.name=csv", "--set", "data.csv=" + file.string()});
    }
    auto r = cli(args);
    EXPECT_EQ(r.code, 1) << c.name;
    EXPECT_NE(r.err.find(file.string() + c.where), std::string::npos) << c.name << ": " << r.err;
    EXPECT_FALSE(fs::exists(dir)) << c.name;
  }
}

TEST(Cli, DemoWritesEveryFileOfTheRunFolder) {
  const auto dir = fresh_dir("demo");
  auto r = cli({"demo", "--steps", "40", "--out", dir.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const auto& f : jeffreys::app::run_folder_files()) EXPECT_TRUE(fs::exists(dir / f)) << f;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    EXPECT_FALSE(jeffreys::is_temporary_file(e.path().filename().string())) << e.path();
  EXPECT_NE(r.out.find("final NLL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("plots"), std::string::npos) << r.out;
  // The run folder is usable by the other commands.
  const auto samples = dir / "proxy.csv";
  auto s = cli({"sample", "--run", dir.string(), "--n", "300", "--model", "proxy", "--out", samples.string()});
  ASSERT_EQ(s.code, 0) << s.err;
  std::ifstream in(samples);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) ++lines;
  EXPECT_EQ(lines, 301);  // header + samples
  EXPECT_EQ(cli({"eval", "--run", dir.string()}).code, 0);
  EXPECT_TRUE(fs::exists(dir / "eval.json"));
  EXPECT_EQ(cli({"plot", "--run", dir.string()}).code, 0);
  // A second train into the same folder is refused rather than overwriting it.
  EXPECT_EQ(cli({"train", "--out", dir.string()}).code, 1);
  fs::remove_all(dir);
}

// -Hc through `jeffreys train`: data_entropy.json names both estimates and which one set the level.
// On two-moons (2-D, far from Gaussian) the k-NN estimate is below the Gaussian bound and is kept.
TEST(Cli, CappedEntropyLevelIsRecordedInTheRunFolder) {
  auto args = small_overrides();
  const auto dir = fresh_dir("capped_entropy");
  args.insert(args.begin(), {"train", "--out", dir.string(), "--set", "train.steps=5", "--set", "method.name=paper-Hc"});
  ASSERT_EQ(cli(args).code, 0);
  std::ifstream in(dir / "data_entropy.json");
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j.at("estimator"), "kozachenko-leonenko, capped by the gaussian bound");
  EXPECT_FALSE(j.at("capped").get<bool>());
  EXPECT_DOUBLE_EQ(j.at("value").get<double>(), j.at("knn").get<double>());
  EXPECT_GT(j.at("gaussian_bound").get<double>(), j.at("knn").get<double>());
  fs::remove_all(dir);
}

TEST(Cli, InterruptedRunResumesToTheSameMetrics) {
  auto args = small_overrides();
  const auto a = fresh_dir("uninterrupted"), b = fresh_dir("interrupted");
  auto full = args;
  full.insert(full.begin(), {"train", "--out", a.string(), "--set", "train.steps=90"});
  ASSERT_EQ(cli(full).code, 0);
  // Interrupted after 47 steps: the last checkpoint is at step 40 and rows 41..47 are lost work.
  std::vector<std::string> sets;
  for (size_t i = 1; i < args.size(); i += 2) sets.push_back(args[i]);
  sets.push_back("train.steps=90");
  jeffreys::app::RunOptions stop;
  stop.stop_after = 47;
  stop.plots = false;
  auto summary = jeffreys::app::train_run(jeffreys::app::load_config("", sets), b.string(), stop);
  EXPECT_EQ(summary.status, "stopped");
  // A kill between the metrics write and the checkpoint write leaves rows the checkpoint has not
  // reached; resume must drop them and recompute.
  std::ofstream(b / "metrics.csv", std::ios::app) << "45,1.0,9,9,9,9,9,9,9,0.001,0.001,,,,,,,,\n";
  ASSERT_EQ(cli({"train", "--out", b.string(), "--resume"}).code, 0);
  EXPECT_EQ(csv_without_wall(a / "metrics.csv"), csv_without_wall(b / "metrics.csv"));
  fs::remove_all(a);
  fs::remove_all(b);
}

#ifdef JEFFREYS_EXE
TEST(Cli, KilledProcessResumesToTheSameMetrics) {
  const auto a = fresh_dir("kill_ref"), b = fresh_dir("kill");
  auto args = small_overrides();
  args.insert(args.end(), {"--set", "train.steps=400"});
  auto spawn = [&](const fs::path& out, bool resume) {
    std::vector<std::string> v = {JEFFREYS_EXE, "train", "--out", out.string()};
    if (resume) v.push_back("--resume");
    else v.insert(v.end(), args.begin(), args.end());
    pid_t pid = fork();
    if (pid == 0) {
      std::vector<char*> argv;
      for (auto& s : v) argv.push_back(s.data());
      argv.push_back(nullptr);
      freopen("/dev/null", "w", stdout);
      freopen("/dev/null", "w", stderr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  };
  int status = 0;
  waitpid(spawn(a, false), &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // Kill -9 once a checkpoint exists, at a moment that is not a checkpoint boundary in general.
  pid_t pid = spawn(b, false);
  for (int i = 0; i < 600 && !fs::exists(b / "checkpoint.pt"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed";
  {
    std::ifstream in(b / "summary.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.find("\"completed\""), std::string::npos) << "killed too late to test anything";
  }
  waitpid(spawn(b, true), &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(csv_without_wall(a / "metrics.csv"), csv_without_wall(b / "metrics.csv"));
  fs::remove_all(a);
  fs::remove_all(b);
}
#endif

}  // namespace
