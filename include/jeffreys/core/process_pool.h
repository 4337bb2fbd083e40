#pragma once
/// Runs commands as child processes, a bounded number at once, each with its output in a log file:
/// how studies and benchmarks train many runs in parallel without sharing one process's state.
#include <functional>
#include <string>
#include <vector>

namespace jeffreys {

struct ProcessJob {
  std::vector<std::string> args;  ///< args[0] is the executable's path
  std::string log;                ///< stdout and stderr go here (truncated first)
};

/// Starts `jobs` in order, at most `parallel` at a time, and calls `done(index, exit_code,
/// seconds)` as each ends (exit_code -1 when killed by a signal). Throws std::runtime_error if a
/// process cannot be started.
void run_processes(const std::vector<ProcessJob>& jobs, int parallel,
                   const std::function<void(size_t, int, double)>& done);

}  // namespace jeffreys
