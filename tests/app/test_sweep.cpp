// The sweep engine and its process pool: runs only what is unfinished, tallies how runs ended,
// waits only for its own children, and leaves none running when something throws.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "app/sweeps/process_pool.h"
#include "app/sweeps/sweep.h"

extern char** environ;

namespace {
namespace fs = std::filesystem;
namespace ja = jeffreys::app;

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("jeffreys_sweep_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

ja::ProcessJob sh(const std::string& script, const fs::path& log) { return {{"/bin/sh", "-c", script}, log.string()}; }

TEST(ProcessPool, ReportsEveryJobAndLeavesOtherChildrenAlone) {
  const auto d = fresh_dir("pool");
  // A child of this process that the pool did not start, ending while the pool runs.
  pid_t foreign = 0;
  char* argv[] = {const_cast<char*>("/bin/sleep"), const_cast<char*>("0.2"), nullptr};
  ASSERT_EQ(posix_spawn(&foreign, "/bin/sleep", nullptr, nullptr, argv, environ), 0);
  std::vector<ja::ProcessJob> jobs = {sh("sleep 0.5; exit 3", d / "a.log"), sh("echo hi; exit 0", d / "b.log"),
                                      sh("kill -9 $$", d / "c.log")};
  std::map<size_t, int> codes;
  ja::run_processes(jobs, 2, [&](size_t i, int code, double) { codes[i] = code; });
  EXPECT_EQ(codes, (std::map<size_t, int>{{0, 3}, {1, 0}, {2, -1}}));
  std::ifstream log(d / "b.log");
  std::string line;
  std::getline(log, line);
  EXPECT_EQ(line, "hi");
  // The foreign child was not reaped by the pool: this process can still wait for it.
  int status = 0;
  EXPECT_EQ(::waitpid(foreign, &status, 0), foreign);
  fs::remove_all(d);
}

TEST(ProcessPool, KillsAndReapsItsChildrenWhenTheCallbackThrows) {
  const auto d = fresh_dir("throw");
  std::vector<ja::ProcessJob> jobs = {sh("echo $$ > " + (d / "p1").string() + "; exec sleep 60", d / "1.log"),
                                      sh("echo $$ > " + (d / "p2").string() + "; exec sleep 60", d / "2.log"),
                                      sh("sleep 0.5", d / "3.log"), sh("sleep 60", d / "4.log")};
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(ja::run_processes(jobs, 3, [](size_t, int, double) { throw std::runtime_error("stop"); }),
               std::runtime_error);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 20.0);
  for (const char* f : {"p1", "p2"}) {
    pid_t pid = 0;
    std::ifstream(d / f) >> pid;
    ASSERT_GT(pid, 0) << f;
    // Killed and reaped: no such process any more (not even a zombie).
    EXPECT_EQ(::kill(pid, 0), -1) << f;
    EXPECT_EQ(errno, ESRCH) << f;
  }
  // The fourth job was never started.
  EXPECT_FALSE(fs::exists(d / "4.log"));
  fs::remove_all(d);
}

TEST(Sweep, SkipsFinishedRunsRestartsInterruptedOnesAndTallies) {
  const auto d = fresh_dir("engine");
  const auto out = (d / "out").string();
  const ja::Sweep sweep("test sweep", out, {2, "/bin/sh", nullptr});
  // "a" finished before; "b" was interrupted (a stale file in its folder); "c" fails.
  fs::create_directories(sweep.run_dir("a"));
  std::ofstream(sweep.run_dir("a") + "/done") << "";
  fs::create_directories(sweep.run_dir("b"));
  std::ofstream(sweep.run_dir("b") + "/stale") << "";
  std::vector<std::string> prepared;
  std::vector<ja::SweepRun> plan;
  for (const std::string name : {"a", "b", "c"}) {
    const auto dir = sweep.run_dir(name);
    const std::string script =
        name == "c" ? "exit 1" : "mkdir -p " + dir + " && touch " + dir + "/done && echo " + name + " > " + dir + "/out";
    plan.push_back({name, {"-c", script}, [&prepared, name] { prepared.push_back(name); }});
  }
  ja::SweepRules rules;
  rules.finished = [](const std::string& dir) { return fs::exists(dir + "/done"); };
  rules.restart_interrupted = true;
  rules.judge = [](const std::string& dir, int code) {
    return code == 0 ? ja::RunEnd{ja::RunEnd::completed, "ok"} : ja::RunEnd{ja::RunEnd::failed, ""};
  };
  const auto o = sweep.run(plan, rules);
  EXPECT_EQ(o.planned, 3);
  EXPECT_EQ(o.skipped, 1);
  EXPECT_EQ(o.completed, 1);
  EXPECT_EQ(o.failed, 1);
  EXPECT_EQ(prepared, (std::vector<std::string>{"b", "c"}));
  EXPECT_FALSE(fs::exists(sweep.run_dir("b") + "/stale"));
  EXPECT_TRUE(fs::exists(sweep.run_dir("b") + "/out"));
  EXPECT_TRUE(fs::exists(sweep.log_file("c")));
  EXPECT_FALSE(fs::exists(sweep.run_dir("a") + "/out"));
  // A missing executable is refused before anything is created.
  EXPECT_THROW(ja::Sweep("x", (d / "none").string(), {1, "/no/such/jeffreys", nullptr}), std::invalid_argument);
  EXPECT_FALSE(fs::exists(d / "none"));
  fs::remove_all(d);
}

TEST(Sweep, LeavesARunThatAnotherSweepHasClaimedAlone) {
  const auto d = fresh_dir("claim");
  const auto out = (d / "out").string();
  const ja::Sweep sweep("test sweep", out, {2, "/bin/sh", nullptr});
  // Another sweep is running "a": its folder is half written and its log is locked (what Sweep::run
  // holds while a run of it is planned or running; flock conflicts between open files in one process
  // as between processes).
  fs::create_directories(sweep.run_dir("a"));
  std::ofstream(sweep.run_dir("a") + "/partial") << "x";
  std::ofstream(sweep.log_file("a")) << "a's log so far\n";
  const int other = ::open(sweep.log_file("a").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(other, 0);
  ASSERT_EQ(::flock(other, LOCK_EX | LOCK_NB), 0);
  std::vector<ja::SweepRun> plan;
  for (const std::string name : {"a", "b"}) {
    const auto dir = sweep.run_dir(name);
    plan.push_back({name, {"-c", "mkdir -p " + dir + " && touch " + dir + "/done"}, nullptr});
  }
  ja::SweepRules rules;
  rules.finished = [](const std::string& dir) { return fs::exists(dir + "/done"); };
  rules.restart_interrupted = true;
  rules.judge = [](const std::string&, int code) {
    return code == 0 ? ja::RunEnd{ja::RunEnd::completed, "ok"} : ja::RunEnd{ja::RunEnd::failed, ""};
  };
  auto o = sweep.run(plan, rules);
  EXPECT_EQ(o.elsewhere, 1);
  EXPECT_EQ(o.completed, 1);
  // "a" was neither removed, relaunched nor its log overwritten.
  EXPECT_TRUE(fs::exists(sweep.run_dir("a") + "/partial"));
  EXPECT_FALSE(fs::exists(sweep.run_dir("a") + "/done"));
  std::string line;
  std::getline(std::ifstream(sweep.log_file("a")), line);
  EXPECT_EQ(line, "a's log so far");
  // The claim ends with the process that held it (here: its file closed); the next sweep restarts "a".
  ::close(other);
  o = sweep.run(plan, rules);
  EXPECT_EQ(o.elsewhere, 0);
  EXPECT_EQ(o.skipped, 1);
  EXPECT_EQ(o.completed, 1);
  EXPECT_FALSE(fs::exists(sweep.run_dir("a") + "/partial"));
  EXPECT_TRUE(fs::exists(sweep.run_dir("a") + "/done"));
  fs::remove_all(d);
}

}  // namespace
