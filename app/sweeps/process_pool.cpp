#include "app/sweeps/process_pool.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
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

  /// Starts `job` (the `index`-th). The child dies with this process (PR_SET_PDEATHSIG): a sweep
  /// killed with SIGKILL, which can clean up nothing, leaves no run training on behind it, so a
  /// continued sweep never has two processes writing one run folder.
  void start(const ProcessJob& job, size_t index) {
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
    running_[pid] = {index, Clock::now()};
  }

  size_t count() const { return running_.size(); }

  struct Ended {
    size_t index;
    int exit_code;
    double seconds;
  };

  /// Waits for the next of its children to end (polling each by pid, so that no other child of the
  /// calling process is reaped by mistake).
  Ended wait_next() {
    for (;;) {
      for (auto it = running_.begin(); it != running_.end(); ++it) {
        int status = 0;
        const pid_t r = ::waitpid(it->first, &status, WNOHANG);
        if (r == it->first) {
          const Ended e{it->second.first, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                        std::chrono::duration<double>(Clock::now() - it->second.second).count()};
          running_.erase(it);
          return e;
        }
        if (r < 0 && errno != EINTR)
          throw std::runtime_error(std::string("run_processes: waitpid failed: ") + std::strerror(errno));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  /// SIGTERM, a grace period, SIGKILL; then reaps every one.
  void kill_all() {
    for (const auto& [pid, job] : running_) ::kill(pid, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (!running_.empty() && Clock::now() < deadline) {
      for (auto it = running_.begin(); it != running_.end();) {
        int status = 0;
        it = ::waitpid(it->first, &status, WNOHANG) != 0 ? running_.erase(it) : std::next(it);
      }
      if (!running_.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (const auto& [pid, job] : running_) {
      ::kill(pid, SIGKILL);
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    running_.clear();
  }

 private:
  /// pid -> (the job's index, when it started)
  std::map<pid_t, std::pair<size_t, Clock::time_point>> running_;
};

}  // namespace

void run_processes(const std::vector<ProcessJob>& jobs, int parallel,
                   const std::function<void(size_t, int, double)>& done) {
  Children children;
  size_t next = 0;
  while (next < jobs.size() || children.count() > 0) {
    while (next < jobs.size() && static_cast<int>(children.count()) < std::max(1, parallel)) {
      children.start(jobs[next], next);
      ++next;
    }
    const auto e = children.wait_next();
    done(e.index, e.exit_code, e.seconds);
  }
}

}  // namespace jeffreys::app
