// Hostile and careless inputs (issue 18's probe): names that would escape --out, files that are not
// configurations, sizes past any machine, values that pass a type check and then diverge, a device
// that is not there, a resumed run given another configuration, junk in a run folder. Each ends in
// one clear error naming what is wrong, and leaves nothing behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <iterator>
#include <fstream>
#include <sstream>

#include "app/config/config.h"
#include "app/studies/image_study.h"
#include "app/studies/sbi_benchmark.h"
#include "app/studies/study.h"
#include "app/sweeps/path_name.h"
#include "app/sweeps/sweep.h"
#include "support/run_cli.h"
#include "support/run_exe.h"
#include "support/kill_sweep.h"
#include "jeffreys/core/atomic_file.h"

namespace {
namespace fs = std::filesystem;
namespace ja = jeffreys::app;

const auto cli = jtest::run_cli;

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("jeffreys_hostile_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

std::string write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
  return p.string();
}

TEST(Hostile, NamesThatWouldEscapeTheOutputFolderAreRefused) {
  for (const std::string& bad : std::vector<std::string>{"", ".", "..", "../victim", "a/b", "a b", "x\ny", std::string(200, 'a')})
    EXPECT_FALSE(ja::is_path_name(bad)) << bad;
  for (const std::string good : {"jeffreys-F10", "npe", "two_moons__1000__npe__s0", "lr1e-3", "a=b+c"})
    EXPECT_TRUE(ja::is_path_name(good)) << good;
  const auto d = fresh_dir("escape");
  const ja::Sweep sweep("test", (d / "out").string(), {1, "/bin/sh", nullptr});
  EXPECT_THROW(sweep.run_dir("../../victim"), std::invalid_argument);
  EXPECT_THROW(sweep.log_file("../x"), std::invalid_argument);
  EXPECT_THROW(sweep.config_file("a/b"), std::invalid_argument);

  // An image study whose arm is named to reach outside --out is refused when the file is read.
  write(d / "base.toml", "[train]\nsteps = 10\n");
  const auto study = write(d / "image.toml", "[data]\nsource = \"png-folder\"\npath = \".\"\n[latent]\nbase = "
                                             "\"base.toml\"\n[[latent.arm]]\nname = \"../../victim\"\n");
  try {
    ja::load_image_study(study);
    FAIL() << "an arm named ../../victim was accepted";
  } catch (const ja::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("latent.arm.name"), std::string::npos) << e.what();
  }
  // The 2D study refuses such arm names too.
  const auto s2 = write(d / "study.toml", "base = \"base.toml\"\n[[arm]]\nname = \"..\"\n[[grid]]\narms = [\"..\"]\n"
                                          "datasets = [\"rings\"]\nn_train = [10]\nseeds = [0]\n");
  EXPECT_THROW(ja::load_study(s2), ja::ConfigError);
  // An SBI benchmark's methods and tasks name folders: a path in either is refused.
  const std::string root = "observations_root = \"" + d.string() + "\"\n";
  fs::create_directories(d / "two_moons");
  for (const auto& [text, key] : std::vector<std::pair<std::string, std::string>>{
           {root + "tasks = [\"two_moons\"]\nbudgets = [100]\nmethods = [\"npe/../../x\"]\nseeds = [0]\n", "methods"},
           {root + "tasks = [\"../two_moons\"]\nbudgets = [100]\nmethods = [\"npe\"]\nseeds = [0]\n", "tasks"}}) {
    try {
      ja::load_sbi_benchmark(write(d / "bench.toml", text));
      ADD_FAILURE() << text;
    } catch (const ja::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("key '" + key + "'"), std::string::npos) << e.what();
    }
  }
  fs::remove_all(d);
}

TEST(Hostile, AFolderOrADeviceIsNotAConfiguration) {
  const auto d = fresh_dir("notafile");
  fs::create_directories(d);
  for (const std::string& path : {d.string(), std::string("/dev/zero")}) {
    const auto out = d / "run";
    auto r = cli({"train", "--config", path, "--out", out.string()});
    EXPECT_EQ(r.code, 1) << path;
    EXPECT_NE(r.err.find(path + ": not a regular file"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out));
  }
  fs::remove_all(d);
}

TEST(Hostile, SizesAndValuesOutsideTheirBoundsNameTheKey) {
  for (const std::string set :
       {"threads=100000", "train.batch_size=1000000000", "eval.grid=1000000", "data.n_train=10000000000",
        "flow.hidden=1000000", "flow.scale_clamp=0", "optim.min_lr_factor=-1", "flow.bound=1e300", "optim.lr=1e9",
        "eval.mmd_samples=1000000", "train.flow_samples=1000000000"}) {
    try {
      ja::load_config("", {set});
      ADD_FAILURE() << set << " was accepted";
    } catch (const ja::ConfigError& e) {
      const auto key = set.substr(0, set.find('='));
      EXPECT_NE(std::string(e.what()).find("key '" + key + "'"), std::string::npos) << e.what();
    }
  }
  // Numeric options of the command line: a short message, not a 309-digit range.
  auto r = cli({"sample", "--run", "nowhere", "--n", "10000000000", "--out", "x.csv"});
  EXPECT_EQ(r.code, 2);
  EXPECT_LT(r.err.size(), 300u) << r.err;
}

TEST(Hostile, ClearOneLineErrorsAndNothingLeftBehind) {
  const auto d = fresh_dir("errors");
  // An empty --out.
  auto r = cli({"train", "--out", ""});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
  // A CUDA device this machine does not have: the key named, no dispatcher dump, no folder.
  const auto out = d / "cuda";
  r = cli({"train", "--out", out.string(), "--set", "device=cuda:7", "--set", "train.steps=1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("key 'device'"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  EXPECT_FALSE(fs::exists(out));
  fs::remove_all(d);
}

TEST(Hostile, AResumedRunRefusesAnotherConfigurationAndJunkMetricsAreNamed) {
  const auto d = fresh_dir("resume");
  const std::vector<std::string> small = {"--set", "train.steps=20", "--set", "train.eval_every=20", "--set",
                                          "eval.n_test=200", "--set", "eval.log_z_samples=200", "--set",
                                          "eval.grid=16", "--set", "eval.mmd_samples=50", "--set", "flow.layers=2",
                                          "--set", "train.batch_size=32", "--set", "train.flow_samples=32"};
  std::vector<std::string> args = {"train", "--out", (d / "run").string()};
  args.insert(args.end(), small.begin(), small.end());
  ASSERT_EQ(cli(args).code, 0);
  // --resume with a different --set: refused, the key and the run's config.toml named.
  auto changed = args;
  changed.insert(changed.end(), {"--resume", "--set", "flow.hidden=8"});
  auto r = cli(changed);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("flow.hidden"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("config.toml"), std::string::npos) << r.err;
  // The same configuration resumes (a finished run: nothing to do).
  auto same = args;
  same.push_back("--resume");
  EXPECT_EQ(cli(same).code, 0);
  // Junk in metrics.csv: the file, row and column named, not a stod or map::at message.
  write(d / "run" / "metrics.csv", "step,wall_seconds,F\n10,0.5,abc\n");
  r = cli({"plot", "--run", (d / "run").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("metrics.csv: row 2, column 'F'"), std::string::npos) << r.err;
  write(d / "run" / "metrics.csv", "F,G\n1,2\n");
  r = cli({"plot", "--run", (d / "run").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no column 'step'"), std::string::npos) << r.err;
  fs::remove_all(d);
}

TEST(Hostile, OneColumnDataWithTheAutoregressiveFlowTrainsAndPlots) {
  const auto d = fresh_dir("onecolumn");
  std::ostringstream csv;
  for (int i = 0; i < 200; ++i) csv << (i % 7) * 0.3 - 1.0 << "\n";
  const auto file = write(d / "x.csv", csv.str());
  auto r = cli({"train", "--out", (d / "run").string(), "--set", "data.name=csv", "--set", "data.csv=" + file, "--set",
                "flow.family=maf", "--set", "train.steps=20", "--set", "train.eval_every=20", "--set",
                "eval.log_z_samples=200", "--set", "eval.mmd_samples=20"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(d / "run" / "plots" / "samples.png"));
  // A coupling flow cannot split one column: LibTorch's check reaches the user as one line, without
  // the C++ backtrace it carries.
  r = cli({"train", "--out", (d / "coupling").string(), "--set", "data.name=csv", "--set", "data.csv=" + file});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("coupling flows need 2 or more"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Exception raised from"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  EXPECT_FALSE(fs::exists(d / "coupling"));
  fs::remove_all(d);
}

TEST(Hostile, AtomicWritesDoNotFollowAPlantedTemporaryLink) {
  const auto d = fresh_dir("symlink");
  fs::create_directories(d / "run");
  write(d / "outside.txt", "keep me");
  // A link planted where a naive writer puts its temporary file.
  fs::create_symlink(d / "outside.txt", d / "run" / "summary.json.tmp");
  jeffreys::write_file_atomically((d / "run" / "summary.json").string(), "{}\n");
  std::ifstream in(d / "outside.txt");
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "keep me");
  std::ifstream written(d / "run" / "summary.json");
  std::getline(written, text);
  EXPECT_EQ(text, "{}");
  fs::remove_all(d);
}

TEST(Hostile, AFullDiskEndsTheRunWithTheFileAndTheCauseNamed) {
  // A 512 KiB file system (tmpfs; needs the privilege to mount, else skipped): the configuration,
  // data and metrics fit, the first checkpoint (about 25 MB) does not.
  const auto d = fresh_dir("full");
  fs::create_directories(d);
  if (::mount("tmpfs", d.c_str(), "tmpfs", 0, "size=512k") != 0) GTEST_SKIP() << "cannot mount a tmpfs here";
  const auto out = d / "run";
  auto r = cli({"train", "--out", out.string(), "--set", "flow.hidden=512", "--set", "train.steps=4", "--set",
                "train.checkpoint_every=2", "--set", "train.batch_size=16", "--set", "train.flow_samples=16",
                "--set", "eval.log_z_samples=200", "--set", "eval.n_test=100", "--set", "eval.grid=16", "--set",
                "eval.mmd_samples=20"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find((out / "checkpoint.pt").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  // What was written before stays whole, and no temporary file is left.
  EXPECT_TRUE(fs::exists(out / "config.toml"));
  EXPECT_FALSE(fs::exists(out / "checkpoint.pt"));
  for (const auto& e : fs::directory_iterator(out))
    EXPECT_FALSE(jeffreys::is_temporary_file(e.path().filename().string())) << e.path();
  ::umount(d.c_str());
  fs::remove_all(d);
}

#ifdef JEFFREYS_EXE
/// In the child: files may grow to `bytes` at most; a longer write fails with EFBIG (the signal that
/// would otherwise end the process is ignored), as a full disk fails it with ENOSPC.
std::function<void()> file_size_limit(rlim_t bytes) {
  return [bytes] {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit r{bytes, bytes};
    ::setrlimit(RLIMIT_FSIZE, &r);
  };
}

std::vector<std::string> small_run(const std::string& out, std::vector<std::string> more) {
  std::vector<std::string> args = {JEFFREYS_EXE, "train", "--out", out, "--set", "flow.hidden=8", "--set",
                                   "energy.hidden=8", "--set", "flow.layers=2", "--set", "train.batch_size=16", "--set",
                                   "train.flow_samples=16", "--set", "eval.log_z_samples=200", "--set", "eval.n_test=100",
                                   "--set", "eval.grid=16", "--set", "eval.mmd_samples=20"};
  for (auto& m : more) args.push_back(m);
  return args;
}

TEST(Hostile, AFailedWriteOfMetricsEndsTheRunNamingTheFileAndTheRunResumes) {
  // Injected without privileges: a file-size limit makes metrics.csv's rewrite fail part-way while
  // the small checkpoints still fit. The run ends naming the file and the cause; what was written
  // stays whole; the same run resumed without the limit finishes.
  const auto d = fresh_dir("fsize");
  fs::create_directories(d);
  const auto out = (d / "run").string();
  const auto args = small_run(out, {"--set", "train.steps=3000", "--set", "train.log_every=1", "--set",
                                    "train.checkpoint_every=100", "--set", "train.eval_every=3000"});
  auto r = jtest::run_exe(args, file_size_limit(48 * 1024));
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find(out + "/metrics.csv"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("File too large"), std::string::npos) << r.err;
  // One line, the last (the lines before it are the run's progress log).
  EXPECT_EQ(r.err.find("error:"), r.err.rfind('\n', r.err.size() - 2) + 1) << r.err;
  EXPECT_TRUE(fs::exists(out + "/checkpoint.pt"));
  for (const auto& e : fs::directory_iterator(out))
    EXPECT_FALSE(jeffreys::is_temporary_file(e.path().filename().string())) << e.path();
  auto resumed = jtest::run_exe({JEFFREYS_EXE, "train", "--resume", "--out", out});
  EXPECT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_TRUE(fs::exists(out + "/summary.json"));
  fs::remove_all(d);
}

TEST(Hostile, AFailedCheckpointWriteLeavesThePreviousCheckpointAsItWas) {
  const auto d = fresh_dir("fsize_ckpt");
  fs::create_directories(d);
  const auto out = (d / "run").string();
  // A run killed after its first checkpoint; resumed where checkpoints no longer fit.
  ASSERT_TRUE(jtest::run_and_kill_when(
      small_run(out, {"--set", "train.steps=100000", "--set", "train.checkpoint_every=50"}),
      [&] { return fs::exists(out + "/checkpoint.pt"); }));
  std::ifstream before_in(out + "/checkpoint.pt", std::ios::binary);
  const std::string before((std::istreambuf_iterator<char>(before_in)), std::istreambuf_iterator<char>());
  auto r = jtest::run_exe({JEFFREYS_EXE, "train", "--resume", "--out", out}, file_size_limit(before.size() / 2));
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find(out + "/checkpoint.pt"), std::string::npos) << r.err;
  std::ifstream after_in(out + "/checkpoint.pt", std::ios::binary);
  const std::string after((std::istreambuf_iterator<char>(after_in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(after, before);
  fs::remove_all(d);
}

TEST(Hostile, AFailedReportWriteNamesTheFileAndLeavesThePreviousReport) {
  // A benchmark folder with one finished run; its report written once, then again under a file-size
  // limit smaller than the report: the error names results.csv and the cause, the old report stays.
  const auto d = fresh_dir("report");
  const auto run = d / "out" / "runs" / "two_moons__100__npe__s0";
  fs::create_directories(run);
  write(run / "c2st.csv", "task,budget,method,sampler,seed,observation,c2st,train_seconds\n"
                          "two_moons,100,npe,flow,0,1,0.75,2\n");
  const auto file = write(d / "benchmark.toml", "observations_root = \"" + std::string(JEFFREYS_SOURCE_DIR) +
                                                    "/data/sbibm\"\ntasks = [\"two_moons\"]\nbudgets = [100]\n"
                                                    "methods = [\"npe\"]\nseeds = [0]\nobservations = [1]\n");
  const std::vector<std::string> args = {JEFFREYS_EXE, "sbi-benchmark", "--config", file, "--out", (d / "out").string(),
                                         "--report-only"};
  ASSERT_EQ(jtest::run_exe(args).code, 0);
  std::ifstream in(d / "out" / "results.csv");
  const std::string before((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(before.size(), 64u);
  auto r = jtest::run_exe(args, file_size_limit(64));
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find((d / "out" / "results.csv").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("File too large"), std::string::npos) << r.err;
  std::ifstream again(d / "out" / "results.csv");
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>()), before);
  for (const auto& e : fs::directory_iterator(d / "out"))
    EXPECT_FALSE(jeffreys::is_temporary_file(e.path().filename().string())) << e.path();
  fs::remove_all(d);
}

#if !defined(__SANITIZE_ADDRESS__)
TEST(Hostile, AnAllocationFailureIsOneLineAndLeavesNoFolder) {
  // Sizes within their bounds that this process cannot hold (address space limited to 3 GB): LibTorch's
  // allocator fails before the run folder is made. (AddressSanitizer reserves more than that itself.)
  const auto d = fresh_dir("alloc");
  const auto out = (d / "run").string();
  auto r = jtest::run_exe({JEFFREYS_EXE, "train", "--out", out, "--set", "train.steps=5", "--set",
                           "train.batch_size=1000000", "--set", "train.flow_samples=1000000", "--set", "flow.hidden=4096"},
                          [] {
                            const rlimit r{3ull << 30, 3ull << 30};
                            ::setrlimit(RLIMIT_AS, &r);
                          });
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("error: out of memory: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(d));
}
#endif
#endif

}  // namespace
