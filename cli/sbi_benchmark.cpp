// jeffreys sbi-benchmark: `jeffreys sbi` over tasks x budgets x methods x seeds, then its report.
#include "app/studies/sbi_benchmark.h"
#include "command.h"
#include "sweep_flags.h"

namespace jeffreys::cli {
namespace {

class SbiBenchmark : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    auto* c = app.add_subcommand("sbi-benchmark", "run `jeffreys sbi` over tasks x budgets x methods x seeds and report");
    flags_.add_to(c, "benchmark file (see experiments/sbibm/)", "benchmark folder: runs/, results.csv, results.md",
                  "only rewrite results.csv and results.md from the runs present");
    c->add_option("--task", only_.tasks, "run only these tasks of the file (repeatable; the report covers all of it)");
    c->add_option("--budget", only_.budgets, "run only these budgets of the file (repeatable; the report covers all of it)");
    c->add_option("--method", only_.methods, "run only these methods of the file (repeatable; the report covers all of it)");
    c->add_option("--seed", only_.seeds, "run only these seeds of the file (repeatable; the report covers all of it)");
    return c;
  }
  int run(std::ostream& out, std::ostream& err) override {
    auto cfg = app::load_sbi_benchmark(flags_.config);
    if (flags_.report_only) return flags_.print_written(app::report_sbi_benchmark(cfg, flags_.out_dir), out);
    const auto o = flags_.options(err);
    const auto failed = app::run_sbi_benchmark(cfg, flags_.out_dir, o, only_);
    out << "results: " << flags_.out_dir << "/results.csv, " << flags_.out_dir << "/results.md\n";
    return flags_.exit_code(failed, err);
  }

 private:
  SweepFlags flags_;
  app::SbiBenchmarkSubset only_;
};

}  // namespace

std::unique_ptr<Command> sbi_benchmark_command() { return std::make_unique<SbiBenchmark>(); }

}  // namespace jeffreys::cli
