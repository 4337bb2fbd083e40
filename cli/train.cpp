// jeffreys train: one run from a configuration file into a run folder.
#include "app/config/schema.h"
#include "data_parallel.h"
#include "jeffreys/distributed/communicator.h"
#include "command.h"
#include "run_outcome.h"

namespace jeffreys::cli {
namespace {

class Train : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    auto* c = app.add_subcommand("train", "train a model from a configuration file into a run folder");
    c->add_option("--config", config_, "TOML configuration (see configs/; every key: jeffreys keys)");
    c->add_option("--set", sets_, "override a key: --set flow.layers=4 (repeatable)");
    c->add_option("--out", out_dir_, "run folder to create (or continue with --resume)")->required();
    c->add_flag("--resume", resume_, "continue the run in --out from its last checkpoint");
    c->add_option("--device", device_, "cpu or cuda[:N] (same as --set device=...)");
    parallel_.add_to(c);
    // The keys come from the configuration schema, as do `jeffreys keys` and the README's table.
    std::string keys = "\nConfiguration keys (--set key=value; `jeffreys keys` lists defaults and meanings):\n ";
    size_t line = 1;
    for (const auto& k : app::config_keys()) {
      if (line + k.key().size() > 98) keys += "\n ", line = 1;
      keys += " " + k.key();
      line += k.key().size() + 1;
    }
    c->footer(keys + "\n  method.objective.<F|P|R>, [[method.constraints]]");
    return c;
  }
  int run(std::ostream& out, std::ostream& err) override {
    if (out_dir_.empty()) throw std::invalid_argument("--out must name a folder");
    if (!device_.empty()) sets_.push_back("device=" + device_);
    auto config = app::load_config(resume_ && config_.empty() ? "" : config_, sets_);
    // A resumed run continues with its own config.toml: a different --config or --set is refused,
    // not silently ignored.
    const app::RunFolder folder(out_dir_);
    if (resume_ && (!config_.empty() || !sets_.empty()) && folder.has_config()) {
      const auto difference = app::first_difference(folder.read_config(), config);
      if (!difference.empty())
        throw std::invalid_argument("--resume: " + folder.path("config.toml") + " has " + difference +
                                    "; a resumed run keeps its configuration (train into a new --out to change it)");
    }
    // Bad input is refused once, here, before any rank starts.
    if (const int code = parallel_.launch_if_asked(err); code >= 0) return code;
    app::RunOptions o;
    o.resume = resume_;
    o.progress = &err;
    o.communicator = parallel_.join(config.device);
    const bool writer = !o.communicator || o.communicator->rank() == 0;
    if (!writer) o.progress = nullptr;
    const auto summary = app::train_run(config, out_dir_, o);
    if (writer) print_outcome(summary, out);
    return 0;
  }

 private:
  std::string config_, out_dir_, device_;
  std::vector<std::string> sets_;
  bool resume_ = false;
  DataParallelFlags parallel_;
};

}  // namespace

std::unique_ptr<Command> train_command() { return std::make_unique<Train>(); }

}  // namespace jeffreys::cli
