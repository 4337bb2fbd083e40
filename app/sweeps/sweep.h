#pragma once
/// One engine for every sweep (the 2D study, the SBI benchmark, the image study's latent runs):
/// plan → skip what finished → launch child processes, a bounded number at once → progress → tally.
/// A sweep keeps only its plan (which runs, with which command) and its report.
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace jeffreys::app {

struct SweepOptions {
  /// Runs at once, each in its own process.
  int jobs = 2;
  /// The `jeffreys` executable each run is a command of (the command line passes itself).
  std::string executable;
  /// One line per finished run with the count and time left; nullptr = quiet.
  std::ostream* progress = nullptr;
  /// Processes per run: above 1 each run is launched with `--nproc` (data parallel on c10d), so a
  /// sweep holds jobs × nproc processes at once.
  int nproc = 1;
};

/// One planned run: its name (its folder under runs/ and its log under logs/) and the command
/// arguments after the executable.
struct SweepRun {
  std::string name;
  std::vector<std::string> args;
  /// Called just before the run is launched (not for runs already finished): writes its inputs.
  std::function<void()> prepare;
};

/// How a launched run ended, as the sweep reads it from the run's folder and exit code.
struct RunEnd {
  enum Kind { completed, diverged, failed } kind = failed;
  std::string detail;  ///< for the progress line
};

/// What a sweep's runs say about themselves.
struct SweepRules {
  /// Whether the run in `dir` is finished (skipped, not run again).
  std::function<bool(const std::string& dir)> finished;
  /// How a run that exited with `exit_code` ended.
  std::function<RunEnd(const std::string& dir, int exit_code)> judge;
  /// Remove an unfinished run's folder before launching it (runs that cannot resume).
  bool restart_interrupted = false;
};

struct SweepOutcome {
  /// `elsewhere`: unfinished runs that another sweep into the same folder has claimed (left to it).
  int64_t planned = 0, skipped = 0, elsewhere = 0, completed = 0, diverged = 0, failed = 0;
  double seconds = 0;
};

/// A sweep's folder: `out`/runs/<name>/, `out`/logs/<name>.log and `out`/configs/<name>.toml.
class Sweep {
 public:
  /// Checks the executable and creates `out`/runs and `out`/logs. `what` names the sweep in messages.
  Sweep(std::string what, std::string out, SweepOptions options);

  /// The paths of run `name`; a name that is not one safe path component (app/sweeps/path_name.h)
  /// is refused, so that every path a sweep writes stays below `out`.
  std::string run_dir(const std::string& name) const;
  std::string log_file(const std::string& name) const;
  /// `out`/configs/<name>.toml (the folder is created on first use).
  std::string config_file(const std::string& name) const;

  /// Runs every planned run that is not finished, in the plan's order, and tallies how they ended.
  /// Each run it will launch is claimed first (an exclusive lock on its log file, held until the run
  /// ends or this process dies): two sweeps into one folder, e.g. two machines sharing it or a second
  /// command started by hand, never remove, relaunch or overwrite each other's runs; a run claimed
  /// elsewhere is left to that sweep and counted in `elsewhere`.
  SweepOutcome run(const std::vector<SweepRun>& plan, const SweepRules& rules) const;

 private:
  /// The command of `jeffreys <command>` with these arguments (the executable first).
  std::vector<std::string> command(const std::vector<std::string>& args) const;

  std::string what_, out_;
  SweepOptions options_;
};

}  // namespace jeffreys::app
