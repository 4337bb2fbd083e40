// jeffreys plot: redraws a run's plots from its checkpoint and metrics.
#include "app/runs/run.h"
#include "command.h"

namespace jeffreys::cli {
namespace {

class Plot : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    auto* c = app.add_subcommand("plot", "redraw a run's plots");
    c->add_option("--run", run_dir_, "run folder")->required();
    return c;
  }
  int run(std::ostream& out, std::ostream&) override {
    app::plot_run(run_dir_);
    out << "plots written to " << run_dir_ << "/plots/\n";
    return 0;
  }

 private:
  std::string run_dir_;
};

}  // namespace

std::unique_ptr<Command> plot_command() { return std::make_unique<Plot>(); }

}  // namespace jeffreys::cli
