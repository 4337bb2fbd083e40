#include "jeffreys/core/process_pool.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <stdexcept>

extern char** environ;

namespace jeffreys {

void run_processes(const std::vector<ProcessJob>& jobs, int parallel,
                   const std::function<void(size_t, int, double)>& done) {
  using clock = std::chrono::steady_clock;
  std::map<pid_t, std::pair<size_t, clock::time_point>> running;
  size_t next = 0;
  auto launch = [&](size_t i) {
    const auto& job = jobs[i];
    if (job.args.empty()) throw std::runtime_error("run_processes: a job without a command");
    std::vector<std::string> args = job.args;
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, job.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("cannot start '" + job.args[0] + "': " + std::strerror(rc));
    running[pid] = {i, clock::now()};
  };
  while (next < jobs.size() || !running.empty()) {
    while (next < jobs.size() && static_cast<int>(running.size()) < std::max(1, parallel)) launch(next++);
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("run_processes: waitpid failed: ") + std::strerror(errno));
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const auto [index, start] = it->second;
    running.erase(it);
    const double secs = std::chrono::duration<double>(clock::now() - start).count();
    done(index, WIFEXITED(status) ? WEXITSTATUS(status) : -1, secs);
  }
}

}  // namespace jeffreys
