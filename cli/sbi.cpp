// jeffreys sbi: simulation-based inference on one sbibm task: simulate, train, score by C2ST.
#include <iomanip>
#include <map>

#include "app/runs/sbi_run.h"
#include "app/runs/setup.h"
#include "command.h"
#include "data_parallel.h"
#include "jeffreys/distributed/communicator.h"
#include "jeffreys/simulators/task.h"

namespace jeffreys::cli {
namespace {

class Sbi : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    auto* c = app.add_subcommand("sbi", "simulation-based inference on an sbibm task: simulate, train, score by C2ST");
    c->add_option("--task", so_.task, "two_moons, gaussian_linear, gaussian_linear_uniform, slcp, gaussian_mixture, "
                                      "bernoulli_glm, sir, lotka_volterra")->required();
    c->add_option("--budget", so_.budget, "simulations (default 1000)")->check(CLI::Range(10, 10000000));
    c->add_option("--method", so_.posterior.method,
                  "npe (maximum likelihood), jeffreys, paper, fixed-penalty, or another preset, with optional suffixes "
                  "-F<w> (forward weight), -H (entropy-corrected levels; -Hc: estimate capped by a Gaussian bound; -Hn: by the smaller of it and a neural Gaussian's), -W<c> (ESS/K >= c), -T (tilted proxy; -T<d>: over a moving average of the flow, decay d), -K<k> (flow samples per "
                  "context), -S<n> (proxy contexts per batch), -E<n> (learned context embedding), -warm");
    c->add_option("--out", out_dir_, "run folder to create")->required();
    c->add_option("--observations", so_.observations,
                  "folder with obs_<k>/ like data/sbibm/<task>/ (default: the repository's data/sbibm/<task>, or "
                  "$JEFFREYS_SBIBM_DIR/<task>)");
    c->add_option("--observation", observations_, "observation numbers to score (default: all found)");
    c->add_option("--seed", so_.seed, "simulations, initialisation, batches, samples");
    c->add_option("--max-epochs", so_.posterior.max_epochs, "epoch limit (default 5000; early stopping usually ends sooner)")
        ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
    c->add_option("--patience", so_.posterior.patience,
                  "stop after this many epochs without a lower validation NLL (default 20, sbibm's)")
        ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
    c->add_option("--flow-samples", so_.posterior.flow_samples, "K flow samples per context for log Z and R (default 16)")
        ->check(CLI::Range(int64_t{1}, int64_t{4096}));
    c->add_option("--posterior-samples", so_.posterior_samples, "draws per observation and sampler (default 10000)")
        ->check(CLI::Range(int64_t{10}, int64_t{10000000}));
    c->add_option("--proxy-mala-steps", so_.proxy_mala_steps,
                  "also score the proxy's posterior by SIR followed by N Metropolis-adjusted Langevin steps per draw "
                  "(sampler proxy-mala; default 0: SIR alone)")
        ->check(CLI::Range(int64_t{0}, int64_t{100000}));
    c->add_option("--threads", so_.threads, "threads of this process (default 1)")->check(CLI::Range(1, 256));
    c->add_option("--device", so_.device,
                  "cpu, cuda or cuda:N: where the posterior trains and samples (default cpu; with --nproc, cuda gives "
                  "each rank its own GPU)");
    c->add_option("--c2st-folds", so_.c2st_folds, "cross-validation folds of C2ST (default 5, sbibm's)")
        ->check(CLI::Range(2, 20));
    c->add_option("--oracle-every", so_.oracle_every,
                  "oracle, not sbibm's protocol: C2ST every N epochs, the best epoch reported as flow-oracle / "
                  "proxy-oracle (default 0: off)")
        ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
    c->add_option("--oracle-samples", so_.oracle_samples, "draws per observation and sampler for the oracle (default 2000)")
        ->check(CLI::Range(int64_t{10}, int64_t{100000}));
    parallel_.add_to(c);
    return c;
  }
  int run(std::ostream& out, std::ostream& err) override {
    so_.observation_numbers = observations_;
    if (so_.observations.empty()) so_.observations = app::sbibm_root() + "/" + so_.task;
    so_.posterior.seed = so_.seed;
    // A bad task name is refused once, here, before any rank starts.
    simulators::make_task(so_.task);
    app::rank_device_of(so_.device, "--device");  // and a device this machine lacks
    if (const int code = parallel_.launch_if_asked(err); code >= 0) return code;
    so_.communicator = parallel_.join(so_.device);
    if (so_.communicator && so_.communicator->rank() != 0) {
      app::sbi_run(so_, out_dir_, nullptr);
      return 0;
    }
    auto r = app::sbi_run(so_, out_dir_, &err);
    out << "run folder: " << out_dir_ << " (" << so_.task << ", " << so_.budget << " simulations, "
        << so_.posterior.method << "; trained " << r.training.epochs << " epochs in " << std::fixed
        << std::setprecision(1) << r.train_seconds << " s)\n";
    std::map<std::string, std::pair<double, int>> mean;
    for (const auto& sc : r.scores) {
      out << "observation " << sc.observation << ", " << sc.sampler << ": C2ST " << std::setprecision(3) << sc.c2st << "\n";
      mean[sc.sampler].first += sc.c2st;
      mean[sc.sampler].second += 1;
    }
    for (const auto& [sampler, m] : mean)
      out << "mean C2ST (" << sampler << "): " << std::setprecision(3) << m.first / m.second << "\n";
    out << "results: " << out_dir_ << "/c2st.csv, " << out_dir_ << "/summary.json; plots: " << out_dir_ << "/plots/\n";
    return 0;
  }

 private:
  app::SbiOptions so_;
  std::string out_dir_;
  DataParallelFlags parallel_;
  std::vector<int> observations_;
};

}  // namespace

std::unique_ptr<Command> sbi_command() { return std::make_unique<Sbi>(); }

}  // namespace jeffreys::cli
