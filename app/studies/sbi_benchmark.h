#pragma once
/// The SBI benchmark: `jeffreys sbi` runs over tasks × budgets × methods × seeds as parallel
/// processes into one folder, skipping finished runs; then results.csv (one row per run,
/// observation and sampler) and a markdown table of mean C2ST next to sbibm's published NPE.
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "app/sweeps/sweep.h"

namespace jeffreys::app {

struct SbiBenchmarkConfig {
  std::string file;
  std::vector<std::string> tasks, methods;
  /// Budgets for every task; `more_budgets` adds some for named tasks only (10^5 where it is affordable).
  std::vector<int64_t> budgets;
  std::map<std::string, std::vector<int64_t>> more_budgets;
  std::vector<uint64_t> seeds;
  /// Folder holding <task>/obs_<k>/ (resolved against the benchmark file's folder; the environment
  /// variable JEFFREYS_SBIBM_DIR, when set, replaces it).
  std::string observations_root;
  std::vector<int> observations;
  /// Further `jeffreys sbi` arguments for every run (e.g. "--max-epochs", "2000").
  std::vector<std::string> args;
  /// Budgets whose posterior samples the report gathers for pair plots (first seed, first
  /// observation): samples_<task>_<budget>.csv, 1000 samples per method and sampler.
  std::vector<int64_t> pair_budgets;
  /// sbibm's published NPE C2ST: task -> budget -> value, shown beside ours.
  std::map<std::string, std::map<int64_t, double>> reference;

  /// `budgets` plus the task's `more_budgets`, ascending, without repeats.
  std::vector<int64_t> budgets_for(const std::string& task) const;
  /// Every budget of any task, ascending.
  std::vector<int64_t> all_budgets() const;
};

/// Reads a benchmark file; throws ConfigError naming the file, line and key.
SbiBenchmarkConfig load_sbi_benchmark(const std::string& path);

using SbiBenchmarkOptions = SweepOptions;

/// Part of a benchmark file to run now (empty: all of it), e.g. the cheap task while another
/// machine runs the rest; the report still covers the whole file.
struct SbiBenchmarkSubset {
  std::vector<std::string> tasks;
  std::vector<int64_t> budgets;
  std::vector<std::string> methods;
  std::vector<uint64_t> seeds;
};

/// Runs every missing run into `out`/runs/<task>__<budget>__<method>__s<seed>/ (a folder without
/// c2st.csv is an interrupted run: removed and run again), then writes the report. Returns the
/// number of runs that failed. Throws std::invalid_argument, naming the file, when `only` names a
/// task, budget, method or seed that the file does not plan.
int64_t run_sbi_benchmark(const SbiBenchmarkConfig& config, const std::string& out, const SbiBenchmarkOptions& options,
                          const SbiBenchmarkSubset& only = {});

/// results.csv, results.md and the pair-plot samples from the finished runs present. Returns the files written.
std::vector<std::string> report_sbi_benchmark(const SbiBenchmarkConfig& config, const std::string& out);

}  // namespace jeffreys::app
