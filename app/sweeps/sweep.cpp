#include "app/sweeps/sweep.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <iomanip>
#include <stdexcept>

#include "app/sweeps/path_name.h"
#include "app/sweeps/process_pool.h"

namespace fs = std::filesystem;

namespace jeffreys::app {

namespace {

// A run's claim: flock on its log file. flock belongs to the open file description, so it conflicts
// with another sweep's claim in this process too, and the kernel drops it when the process dies:
// a killed sweep leaves no stale claim behind. O_CLOEXEC keeps it out of the children.
class RunClaim {
 public:
  explicit RunClaim(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int e = errno;
      ::close(fd_);
      fd_ = -1;
      if (e != EWOULDBLOCK) throw std::runtime_error("cannot lock " + path + ": " + std::strerror(e));
    }
  }
  RunClaim(const RunClaim&) = delete;
  RunClaim& operator=(const RunClaim&) = delete;
  ~RunClaim() { release(); }
  bool held() const { return fd_ >= 0; }
  void release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

}  // namespace

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
  std::vector<std::unique_ptr<RunClaim>> claims;
  for (const auto& r : plan) {
    const auto dir = run_dir(r.name);
    if (rules.finished(dir)) {
      ++outcome.skipped;
      continue;
    }
    auto claim = std::make_unique<RunClaim>(log_file(r.name));
    if (!claim->held()) {
      ++outcome.elsewhere;
      continue;
    }
    if (rules.finished(dir)) {  // the sweep that held it may have finished it meanwhile
      ++outcome.skipped;
      continue;
    }
    if (rules.restart_interrupted) fs::remove_all(dir);
    if (r.prepare) r.prepare();
    todo.push_back(&r);
    claims.push_back(std::move(claim));
  }
  std::ostream* out = options_.progress;
  if (out)
    *out << what_ << ": " << plan.size() << " runs planned, " << outcome.skipped << " already finished, "
         << (outcome.elsewhere > 0 ? std::to_string(outcome.elsewhere) + " claimed by another sweep, " : std::string())
         << todo.size() << " to run with " << options_.jobs << " at a time"
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
    claims[i]->release();
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
