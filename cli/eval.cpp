// jeffreys eval: the evaluation metrics of a run's latest checkpoint, into eval.json.
#include <iomanip>

#include "app/runs/run.h"
#include "command.h"

namespace jeffreys::cli {
namespace {

class Eval : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    auto* c = app.add_subcommand("eval", "evaluate a run's latest checkpoint (writes eval.json)");
    c->add_option("--run", run_dir_, "run folder")->required();
    return c;
  }
  int run(std::ostream& out, std::ostream&) override {
    auto m = app::evaluate_run(run_dir_);
    out << std::setprecision(6);
    for (const auto& [k, v] : m) out << k << " = " << v << "\n";
    out << "wrote " << run_dir_ << "/eval.json\n";
    return 0;
  }

 private:
  std::string run_dir_;
};

}  // namespace

std::unique_ptr<Command> eval_command() { return std::make_unique<Eval>(); }

}  // namespace jeffreys::cli
