// jeffreys sample: samples of a trained run's flow or energy model as CSV.
#include "app/runs/run.h"
#include "command.h"

namespace jeffreys::cli {
namespace {

class Sample : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    auto* c = app.add_subcommand("sample", "draw samples from a trained run");
    c->add_option("--run", run_dir_, "run folder")->required();
    c->add_option("--n", n_, "number of samples (at most 10^7)")->check(CLI::Range(int64_t{1}, int64_t{10000000}));
    c->add_option("--model", model_, "main (the flow) or proxy (energy model, by importance resampling)")
        ->check(CLI::IsMember({"main", "proxy"}));
    c->add_option("--out", csv_out_, "CSV file to write")->required();
    c->add_option("--seed", seed_, "random seed");
    return c;
  }
  int run(std::ostream& out, std::ostream&) override {
    app::sample_run(run_dir_, n_, model_, csv_out_, seed_);
    out << "wrote " << n_ << " samples of the " << model_ << " model to " << csv_out_ << "\n";
    return 0;
  }

 private:
  std::string run_dir_, model_ = "main", csv_out_;
  int64_t n_ = 1000;
  uint64_t seed_ = 0;
};

}  // namespace

std::unique_ptr<Command> sample_command() { return std::make_unique<Sample>(); }

}  // namespace jeffreys::cli
