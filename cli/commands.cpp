#include "commands.h"

#include <filesystem>
#include <new>
#include <sstream>

#include <c10/util/Exception.h>

#include "command.h"
#include "data_parallel.h"
#include "app/runs/ranks.h"
#include "jeffreys/distributed/communicator.h"
#include "jeffreys/train/errors.h"

namespace jeffreys::cli {

namespace {
/// What to do about an allocation that failed (sizes within their bounds can still exceed a machine).
constexpr const char* kLowerSizes =
    " (lower train.batch_size, train.flow_samples, flow.hidden, energy.hidden or the eval sizes)";
}  // namespace

std::string this_executable() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app{"jeffreys: learn a distribution by minimising the Jeffreys divergence with a flow and an energy model"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every command");
  std::vector<std::unique_ptr<Command>> commands;
  for (auto make : {train_command, sample_command, eval_command, plot_command, demo_command, keys_command,
                    study_command, sbi_benchmark_command, autoencode_command, image_study_command, sbi_command})
    commands.push_back(make());
  std::vector<CLI::App*> subcommands;
  for (auto& c : commands) subcommands.push_back(c->add_to(app));

  set_invocation(args);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    out << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp& e) {
    out << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    // Subcommand help (`jeffreys train --help`) arrives here too.
    std::ostringstream o, e2;
    const int code = app.exit(e, o, e2);
    out << o.str();
    err << e2.str();
    return code == 0 ? 0 : 2;
  }

  try {
    for (size_t i = 0; i < commands.size(); ++i)
      if (*subcommands[i]) return commands[i]->run(out, err);
  } catch (const train::TrainingDiverged& e) {
    err << "error: " << e.what() << "\n";
    return 3;
  } catch (const distributed::CommunicationError& e) {
    err << "error: " << e.what() << "\n";
    return app::kCommunicationExitCode;
  } catch (const c10::Error& e) {
    // LibTorch's checks carry a C++ backtrace: the user gets the message alone.
    const std::string what = e.what_without_backtrace();
    const bool memory = what.find("allocate") != std::string::npos || what.find("out of memory") != std::string::npos;
    err << "error: " << (memory ? "out of memory: " + what + kLowerSizes : what) << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    err << "error: out of memory" << kLowerSizes << "\n";
    return 1;
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace jeffreys::cli
