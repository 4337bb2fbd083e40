#pragma once
// Runs the `jeffreys` command line in-process for a test: its exit code and what it printed.
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"

namespace jtest {

struct CliResult {
  int code;
  std::string out, err;
};

inline CliResult run_cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = jeffreys::cli::run(args, out, err);
  return {code, out.str(), err.str()};
}

}  // namespace jtest
