#include "app/runs/ranks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include <cstring>
#include <map>
#include <stdexcept>
#include <thread>

#include <torch/cuda.h>
#include <torch/types.h>

#include "jeffreys/distributed/communicator.h"

namespace jeffreys::app {

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("cannot open a socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error(std::string("cannot find a free port: ") + std::strerror(errno));
  return ntohs(a.sin_port);
}

namespace {

std::string describe(int status) {
  if (WIFSIGNALED(status)) {
    const int s = WTERMSIG(status);
    return "was killed by signal " + std::to_string(s) + " (" + strsignal(s) + ")";
  }
  return "exited with code " + std::to_string(WEXITSTATUS(status));
}

/// Which failure to name when several ranks failed: a rank killed from outside, then one that
/// failed on its own, and last those that only lost their peers.
int blame_order(int status) {
  if (WIFSIGNALED(status)) return 0;
  return WEXITSTATUS(status) == kCommunicationExitCode ? 2 : 1;
}

}  // namespace

int launch_local_ranks(const std::string& executable, const std::vector<std::string>& args, int nproc,
                       std::ostream& err) {
  if (nproc < 1) throw std::invalid_argument("--nproc must be >= 1");
  const int port = free_local_port();
  const pid_t parent = ::getpid();
  std::map<pid_t, int> rank_of;
  std::vector<std::string> argv_s = {executable};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  err.flush();
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(std::string("cannot start rank ") + std::to_string(r) + ": " + std::strerror(errno));
    if (pid == 0) {
      // A rank never outlives its launcher.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      ::setenv("RANK", std::to_string(r).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      if (r != 0) {
        const int null = ::open("/dev/null", O_WRONLY);
        if (null >= 0) ::dup2(null, STDOUT_FILENO);
      }
      ::execv(executable.c_str(), argv.data());
      ::_exit(127);
    }
    rank_of[pid] = r;
  }
  std::map<int, int> failed;  // rank -> status
  size_t running = rank_of.size();
  auto reap = [&](int options) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, options);
    if (pid <= 0 || !rank_of.count(pid)) return false;
    --running;
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) failed[rank_of[pid]] = status;
    rank_of.erase(pid);
    return true;
  };
  while (running > 0 && failed.empty()) reap(0);
  // Reaps the ranks that end within `tenths` tenths of a second.
  auto reap_for = [&](int tenths) {
    for (int i = 0; i < tenths && running > 0; ++i) {
      while (running > 0 && reap(WNOHANG)) {
      }
      if (running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  };
  if (!failed.empty() && running > 0) {
    // The others fail within moments when a peer's connection closes: a short grace period lets the
    // rank that failed first be told apart from those that only lost it.
    reap_for(30);
    for (const auto& [pid, r] : rank_of) ::kill(pid, SIGTERM);
    reap_for(100);
    for (const auto& [pid, r] : rank_of) ::kill(pid, SIGKILL);
    while (running > 0) reap(0);
  }
  if (failed.empty()) return 0;
  int rank = failed.begin()->first, status = failed.begin()->second;
  for (const auto& [r, s] : failed)
    if (blame_order(s) < blame_order(status)) rank = r, status = s;
  err << "error: rank " << rank << " of " << nproc << " " << describe(status)
      << (nproc > 1 ? "; the other ranks were stopped" : "") << "\n";
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

std::shared_ptr<distributed::Communicator> join_ranks(const std::string& device, std::chrono::seconds timeout) {
  const auto env = distributed::LaunchEnvironment::from_environment();
  if (env.world_size == 1) return nullptr;
  const auto here = distributed::rank_device(torch::Device(device), env, torch::cuda::device_count());
  return distributed::Communicator::connect(env, distributed::Communicator::backend_for(here),
                                            std::chrono::duration_cast<std::chrono::milliseconds>(timeout), here);
}

}  // namespace jeffreys::app
