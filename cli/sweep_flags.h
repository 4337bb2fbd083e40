#pragma once
// Internal to cli/: the flags every sweep command shares (its file, its folder, processes at once,
// report only, the executable each run is a command of).
#include <CLI/CLI.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "app/sweeps/sweep.h"

namespace jeffreys::cli {

struct SweepFlags {
  std::string config, out_dir, executable;
  int jobs = 2, nproc = 1;
  bool report_only = false;

  /// Declares --config, --out, --jobs, --nproc, --report-only and --executable on `c`.
  void add_to(CLI::App* c, const std::string& config_help, const std::string& out_help, const std::string& report_help);
  /// The sweep's options: --jobs, --nproc, the executable (this one by default), progress to `progress`.
  app::SweepOptions options(std::ostream& progress) const;
  /// "wrote <out>/<file>" for each file of a report; returns the exit code 0.
  int print_written(const std::vector<std::string>& files, std::ostream& out) const;
  /// The exit code of a sweep: 0, or 1 with an error line pointing at the logs when runs failed.
  int exit_code(int64_t failed, std::ostream& err) const;
};

}  // namespace jeffreys::cli
