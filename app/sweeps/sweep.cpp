#include "app/sweeps/sweep.h"

#include <chrono>
#include <filesystem>
#include <iomanip>
#include <stdexcept>

#include "app/sweeps/path_name.h"
#include "app/sweeps/process_pool.h"

namespace fs = std::filesystem;

namespace jeffreys::app {

Sweep::Sweep(std::string what, std::string out, SweepOptions options)
    : what_(std::move(what)), out_(std::move(out)), options_(std::move(options)) {
  if (options_.executable.empty() || !fs::exists(options_.executable))
    throw std::invalid_argument(what_ + ": the jeffreys executable '" + options_.executable + "' does not exist");
  if (out_.empty()) throw std::invalid_argument(what_ + ": --out must name a folder");
  if (options_.nproc < 1) throw std::invalid_argument(what_ + ": --nproc must be >= 1");
  for (const char* d : {"runs", "logs"}) fs::create_directories(out_ + "/" + d);
}

std::string Sweep::run_dir(const std::string& name) const {
  require_path_name(name, what_ + ": run name");
  return out_ + "/runs/" + name;
}

std::string Sweep::log_file(const std::string& name) const {
  require_path_name(name, what_ + ": run name");
  return out_ + "/logs/" + name + ".log";
}

std::string Sweep::config_file(const std::string& name) const {
  require_path_name(name, what_ + ": run name");
  fs::create_directories(out_ + "/configs");
  return out_ + "/configs/" + name + ".toml";
}

std::vector<std::string> Sweep::command(const std::vector<std::string>& args) const {
  std::vector<std::string> c = {options_.executable};
  c.insert(c.end(), args.begin(), args.end());
  if (options_.nproc > 1) c.insert(c.end(), {"--nproc", std::to_string(options_.nproc)});
  return c;
}

SweepOutcome Sweep::run(const std::vector<SweepRun>& plan, const SweepRules& rules) const {
  SweepOutcome outcome;
  outcome.planned = static_cast<int64_t>(plan.size());
  std::vector<const SweepRun*> todo;
  for (const auto& r : plan) {
    const auto dir = run_dir(r.name);
    if (rules.finished(dir)) {
      ++outcome.skipped;
      continue;
    }
    if (rules.restart_interrupted) fs::remove_all(dir);
    if (r.prepare) r.prepare();
    todo.push_back(&r);
  }
  std::ostream* out = options_.progress;
  if (out)
    *out << what_ << ": " << plan.size() << " runs planned, " << outcome.skipped << " already finished, " << todo.size()
         << " to run with " << options_.jobs << " at a time"
         << (options_.nproc > 1 ? ", " + std::to_string(options_.nproc) + " processes each" : std::string()) << "\n"
         << std::flush;
  std::vector<ProcessJob> jobs;
  for (const auto* r : todo) jobs.push_back({command(r->args), log_file(r->name)});
  const auto t0 = std::chrono::steady_clock::now();
  double busy_seconds = 0;
  int64_t done = 0;
  run_processes(jobs, options_.jobs, [&](size_t i, int exit_code, double took) {
    const SweepRun& r = *todo[i];
    busy_seconds += took;
    ++done;
    const RunEnd end = rules.judge(run_dir(r.name), exit_code);
    std::string what = end.detail;
    switch (end.kind) {
      case RunEnd::completed: ++outcome.completed; break;
      case RunEnd::diverged: ++outcome.diverged; break;
      case RunEnd::failed:
        ++outcome.failed;
        what = "FAILED (exit " + std::to_string(exit_code) + "), see logs/" + r.name + ".log";
        break;
    }
    if (out) {
      const double per_run = busy_seconds / static_cast<double>(done);
      const double left =
          per_run * static_cast<double>(static_cast<int64_t>(todo.size()) - done) / std::max(1, options_.jobs);
      *out << "[" << done << "/" << todo.size() << "] " << r.name << ": " << what << " (" << std::fixed
           << std::setprecision(0) << took << " s; about " << left / 60 << " min left)\n"
           << std::defaultfloat << std::flush;
    }
  });
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return outcome;
}

}  // namespace jeffreys::app
