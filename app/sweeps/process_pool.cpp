#include "app/sweeps/process_pool.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace jeffreys::app {
namespace {

using Clock = std::chrono::steady_clock;

/// The children started here; whatever happens, none outlives run_processes unreaped.
class Children {
 public:
  ~Children() { kill_all(); }

  /// Starts `job`. The child dies with this process (PR_SET_PDEATHSIG): a sweep killed with
  /// SIGKILL, which can clean up nothing, leaves no run training on behind it, so a continued sweep
  /// never has two processes writing one run folder.
  pid_t start(const ProcessJob& job) {
    if (job.args.empty()) throw std::runtime_error("run_processes: a job without a command");
    std::vector<std::string> args = job.args;
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("cannot start '" + job.args[0] + "': " + std::strerror(errno));
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec: the parent has other threads.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
      const int fd = ::open(job.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) ::_exit(126);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execve(argv[0], argv.data(), environ);
      ::_exit(127);
    }
    return pid;
  }

  /// The next of `pids` to end, with its exit code; waits (polling, so that no other child of the
  /// calling process is reaped by mistake).
  std::pair<pid_t, int> wait_any(const std::vector<pid_t>& pids) {
    for (;;) {
      for (pid_t pid : pids) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return {pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
        if (r < 0 && errno != EINTR)
          throw std::runtime_error(std::string("run_processes: waitpid failed: ") + std::strerror(errno));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  void add(pid_t pid) { live_.push_back(pid); }
  void remove(pid_t pid) { live_.erase(std::remove(live_.begin(), live_.end(), pid), live_.end()); }
  const std::vector<pid_t>& live() const { return live_; }

  /// SIGTERM, a grace period, SIGKILL; then reaps every one.
  void kill_all() {
    if (live_.empty()) return;
    for (pid_t pid : live_) ::kill(pid, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (!live_.empty() && Clock::now() < deadline) {
      for (size_t i = 0; i < live_.size();) {
        int status = 0;
        if (::waitpid(live_[i], &status, WNOHANG) != 0) {
          live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
          ++i;
        }
      }
      if (!live_.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (pid_t pid : live_) {
      ::kill(pid, SIGKILL);
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    live_.clear();
  }

 private:
  std::vector<pid_t> live_;
};

}  // namespace

void run_processes(const std::vector<ProcessJob>& jobs, int parallel,
                   const std::function<void(size_t, int, double)>& done) {
  Children children;
  std::map<pid_t, std::pair<size_t, Clock::time_point>> running;
  size_t next = 0;
  while (next < jobs.size() || !running.empty()) {
    while (next < jobs.size() && static_cast<int>(running.size()) < std::max(1, parallel)) {
      const pid_t pid = children.start(jobs[next]);
      children.add(pid);
      running[pid] = {next++, Clock::now()};
    }
    const auto [pid, code] = children.wait_any(children.live());
    children.remove(pid);
    const auto [index, start] = running.at(pid);
    running.erase(pid);
    done(index, code, std::chrono::duration<double>(Clock::now() - start).count());
  }
}

}  // namespace jeffreys::app
