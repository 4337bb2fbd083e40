#pragma once
// The `jeffreys` command line as a library, so tests can run commands in-process: parse, validate,
// call the library, write. No tensor maths here.
#include <ostream>
#include <string>
#include <vector>

namespace jeffreys::cli {

/// Runs the command line `args` (without the program name); output to `out`, errors and progress
/// to `err`. Returns the process exit code: 0 ok, 1 bad input, 2 usage, 3 training diverged.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace jeffreys::cli
