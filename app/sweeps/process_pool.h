#pragma once
/// Runs commands as child processes, a bounded number at once, each with its output in a log file:
/// how sweeps train many runs in parallel without sharing one process's state.
#include <functional>
#include <string>
#include <vector>

namespace jeffreys::app {

struct ProcessJob {
  std::vector<std::string> args;  ///< args[0] is the executable's path
  std::string log;                ///< stdout and stderr go here (truncated first)
};

/// Starts `jobs` in order, at most `parallel` at a time, and calls `done(index, exit_code,
/// seconds)` as each ends (exit_code -1 when killed by a signal, 127 when the command cannot be
/// executed, 126 when its log cannot be opened). Waits only for the processes it
/// started (other children of the caller are left alone). If a process cannot be started or `done`
/// throws, the processes still running are killed and reaped before the exception propagates.
void run_processes(const std::vector<ProcessJob>& jobs, int parallel,
                   const std::function<void(size_t, int, double)>& done);

}  // namespace jeffreys::app
