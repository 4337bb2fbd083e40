#pragma once
// Internal to cli/: the --nproc and --dist-timeout options that `train` and `sbi` share, and the
// relaunch of the same command line once per rank.
#include <CLI/CLI.hpp>

#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace jeffreys::distributed {
class Communicator;
}

namespace jeffreys::cli {

/// The command line being run (without the program name), as cli::run received it.
const std::vector<std::string>& invocation();
void set_invocation(const std::vector<std::string>& args);

struct DataParallelFlags {
  int nproc = 1;
  int64_t timeout_s = 300;
  void add_to(CLI::App* command);
  /// With --nproc > 1 (in a process that is not itself a launched rank): runs this command line as
  /// that many local ranks and returns the exit code; otherwise -1.
  int launch_if_asked(std::ostream& err) const;
  /// This process's communicator when it is one rank of several (from the environment), else null.
  std::shared_ptr<distributed::Communicator> join(const std::string& device) const;
};

}  // namespace jeffreys::cli
