// jeffreys demo: the default method on a small built-in 2D data set, a minute on 2 cores.
#include <algorithm>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "command.h"
#include "run_outcome.h"

namespace jeffreys::cli {
namespace {

class Demo : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    auto* c = app.add_subcommand("demo", "train the default method on a small built-in 2D data set");
    c->add_option("--out", out_dir_, "run folder (default: runs/demo-<time>)");
    c->add_option("--steps", steps_, "training steps")->check(CLI::Range(int64_t{1}, int64_t{1000000000}));
    return c;
  }
  int run(std::ostream& out, std::ostream& err) override {
    if (out_dir_.empty()) {
      const auto t = std::time(nullptr);
      std::ostringstream name;
      name << "runs/demo-" << std::put_time(std::gmtime(&t), "%Y%m%d-%H%M%S");
      out_dir_ = name.str();
    }
    app::Config c;
    c.data.name = "8-gaussians";
    c.data.n_train = 500;
    c.train.steps = steps_;
    c.train.eval_every = std::max<int64_t>(1, steps_ / 5);
    c.train.checkpoint_every = std::max<int64_t>(1, steps_ / 10);
    c.train.log_every = std::max<int64_t>(1, std::min<int64_t>(50, steps_ / 10));
    app::RunOptions o;
    o.progress = &err;
    print_outcome(app::train_run(c, out_dir_, o), out);
    return 0;
  }

 private:
  std::string out_dir_;
  int64_t steps_ = 10000;
};

}  // namespace

std::unique_ptr<Command> demo_command() { return std::make_unique<Demo>(); }

}  // namespace jeffreys::cli
