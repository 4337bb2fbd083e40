#pragma once
// Internal to cli/: one subcommand of `jeffreys`. Each lives in its own file, as mlpack's bindings
// are one per method: it declares its options, then parses them into the library's types, calls one
// application function and prints where the results are. No tensor maths here.
#include <CLI/CLI.hpp>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace jeffreys::cli {

class Command {
 public:
  virtual ~Command() = default;
  /// Declares the subcommand and its options on `app`; returns the subcommand.
  virtual CLI::App* add_to(CLI::App& app) = 0;
  /// Runs it (after parsing); returns the exit code. Throws on errors (the caller reports them).
  virtual int run(std::ostream& out, std::ostream& err) = 0;
};

std::unique_ptr<Command> train_command();
std::unique_ptr<Command> sample_command();
std::unique_ptr<Command> eval_command();
std::unique_ptr<Command> plot_command();
std::unique_ptr<Command> demo_command();
std::unique_ptr<Command> keys_command();
std::unique_ptr<Command> study_command();
std::unique_ptr<Command> sbi_benchmark_command();
std::unique_ptr<Command> autoencode_command();
std::unique_ptr<Command> image_study_command();
std::unique_ptr<Command> sbi_command();

/// This executable's path: what the sweeps launch for each run, unless --executable says otherwise.
std::string this_executable();

}  // namespace jeffreys::cli
