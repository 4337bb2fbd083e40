#pragma once
// kill -9 of the real executable in the middle of a sweep (study, sbi-benchmark, image-study): start
// it, wait for a moment worth interrupting, kill it, and check that its runs died with it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace jtest {

/// Whether any process other than this one has `text` in its command line.
inline bool process_mentions(const std::string& text) {
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos || name == std::to_string(::getpid())) continue;
    std::ifstream in(e.path() / "cmdline", std::ios::binary);
    const std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find(text) != std::string::npos) return true;
  }
  return false;
}

/// Runs `args` (argv[0] the executable) with output discarded until `ready()` holds (checked every
/// 20 ms, at most `limit`), then kills it with SIGKILL and reaps it. Returns whether `ready()` held.
inline bool run_and_kill_when(std::vector<std::string> args, const std::function<bool()>& ready,
                              std::chrono::seconds limit = std::chrono::seconds(120)) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (!std::freopen("/dev/null", "w", stdout) || !std::freopen("/dev/null", "w", stderr)) _exit(126);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  bool reached = false;
  while (!(reached = ready()) && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return ready();  // ended before the moment came
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return reached;
}

/// Whether processes mentioning `text` are still alive half a second after their parent was killed
/// (the kernel takes a moment to deliver PR_SET_PDEATHSIG).
inline bool orphans_remain(const std::string& text) {
  for (int i = 0; i < 20; ++i) {
    if (!process_mentions(text)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return true;
}

/// Whether any folder directly inside `dir` holds `file`.
inline bool any_run_has(const std::string& dir, const std::string& file) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return false;
  for (const auto& r : std::filesystem::directory_iterator(dir, ec))
    if (std::filesystem::exists(r.path() / file, ec)) return true;
  return false;
}

}  // namespace jtest
