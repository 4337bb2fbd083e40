// jeffreys study: every run of a 2D study (arms x data sets x sizes x seeds), then its report.
#include <iomanip>

#include "app/studies/study.h"
#include "command.h"
#include "sweep_flags.h"

namespace jeffreys::cli {
namespace {

class Study : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    auto* c = app.add_subcommand("study", "train every run of a study (arms x data sets x sizes x seeds) and report");
    c->add_option("--set", sets_, "override a run key for every run: --set train.steps=1000 (repeatable)");
    flags_.add_to(c, "study file (see experiments/small_data_2d/)", "study folder: runs/, results.csv, results.md, figures",
                  "only rewrite results and figures from the runs present");
    return c;
  }
  int run(std::ostream& out, std::ostream& err) override {
    auto cfg = app::load_study(flags_.config, sets_);
    if (flags_.report_only) return flags_.print_written(app::report_study(cfg, flags_.out_dir), out);
    const auto o = flags_.options(err);
    auto r = app::run_study(cfg, flags_.out_dir, o);
    out << "study: " << r.planned << " runs (" << r.skipped << " already finished, " << r.completed << " completed, "
        << r.diverged << " diverged, " << r.failed << " failed) in " << std::fixed << std::setprecision(0) << r.seconds
        << " s\nresults: " << flags_.out_dir << "/results.csv, " << flags_.out_dir << "/results.md; figures: " << flags_.out_dir
        << "/nll_curves.png, lr_panel.png, densities.png\n";
    return r.failed > 0 ? 1 : 0;
  }

 private:
  SweepFlags flags_;
  std::vector<std::string> sets_;
};

}  // namespace

std::unique_ptr<Command> study_command() { return std::make_unique<Study>(); }

}  // namespace jeffreys::cli
