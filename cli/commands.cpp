#include "commands.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <fstream>

#include "jeffreys/experiment/config.h"
#include "jeffreys/experiment/image_study.h"
#include "jeffreys/experiment/run.h"
#include "jeffreys/experiment/sbi_benchmark.h"
#include "jeffreys/experiment/sbi_run.h"
#include "jeffreys/experiment/study.h"
#include "jeffreys/train/errors.h"

namespace jeffreys::cli {
namespace {

/// The demo: the default method on a small built-in data set, a few minutes on 2 cores.
experiment::Config demo_config(int64_t steps) {
  experiment::Config c;
  c.data.name = "8-gaussians";
  c.data.n_train = 500;
  c.train.steps = steps;
  c.train.eval_every = std::max<int64_t>(1, steps / 5);
  c.train.checkpoint_every = std::max<int64_t>(1, steps / 10);
  c.train.log_every = std::max<int64_t>(1, std::min<int64_t>(50, steps / 10));
  return c;
}

void print_outcome(const experiment::RunSummary& r, std::ostream& out) {
  auto get = [&](const char* k) {
    auto it = r.final_metrics.find(k);
    return it == r.final_metrics.end() ? std::nan("") : it->second;
  };
  out << std::fixed << std::setprecision(3);
  out << "run folder: " << r.dir << " (" << r.status << ", " << r.steps_done << " steps)\n";
  out << "final NLL on held-out data: main model (flow) " << get("nll_flow");
  if (!std::isnan(get("nll_proxy")))
    out << ", proxy (energy model) " << get("nll_proxy") << " (log Z " << get("log_z") << " +- " << get("log_z_se") << ")";
  out << "\n";
  if (!std::isnan(get("jeffreys")))
    out << "grid divergences of the flow: forward KL " << get("forward_kl") << ", reverse KL " << get("reverse_kl")
        << ", Jeffreys " << get("jeffreys") << "\n";
  out << "metrics: " << r.dir << "/metrics.csv, summary: " << r.dir << "/summary.json\n";
  out << "plots:   " << r.dir << "/plots/ (densities.png, samples.png, curve_*.png)\n";
}

}  // namespace

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app{"jeffreys: learn a distribution by minimising the Jeffreys divergence with a flow and an energy model"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every command");

  std::string config_path, out_dir, run_dir, model = "main", csv_out;
  std::vector<std::string> sets;
  bool resume = false;
  int64_t n = 1000, demo_steps = 10000;
  uint64_t seed = 0;

  auto* train = app.add_subcommand("train", "train a model from a configuration file into a run folder");
  train->add_option("--config", config_path, "TOML configuration (see configs/)");
  train->add_option("--set", sets, "override a key: --set flow.layers=4 (repeatable)");
  train->add_option("--out", out_dir, "run folder to create (or continue with --resume)")->required();
  train->add_flag("--resume", resume, "continue the run in --out from its last checkpoint");
  std::string device;
  train->add_option("--device", device, "cpu or cuda[:N] (same as --set device=...)");

  auto* sample = app.add_subcommand("sample", "draw samples from a trained run");
  sample->add_option("--run", run_dir, "run folder")->required();
  sample->add_option("--n", n, "number of samples")->check(CLI::PositiveNumber);
  sample->add_option("--model", model, "main (the flow) or proxy (energy model, by importance resampling)")
      ->check(CLI::IsMember({"main", "proxy"}));
  sample->add_option("--out", csv_out, "CSV file to write")->required();
  sample->add_option("--seed", seed, "random seed");

  auto* eval = app.add_subcommand("eval", "evaluate a run's latest checkpoint (writes eval.json)");
  eval->add_option("--run", run_dir, "run folder")->required();

  auto* plot = app.add_subcommand("plot", "redraw a run's plots");
  plot->add_option("--run", run_dir, "run folder")->required();

  auto* demo = app.add_subcommand("demo", "train the default method on a small built-in 2D data set");
  demo->add_option("--out", out_dir, "run folder (default: runs/demo-<time>)");
  demo->add_option("--steps", demo_steps, "training steps")->check(CLI::PositiveNumber);

  auto* study = app.add_subcommand("study", "train every run of a study (arms x data sets x sizes x seeds) and report");
  int jobs = 2;
  bool report_only = false;
  std::string executable;
  study->add_option("--config", config_path, "study file (see experiments/small_data_2d/)")->required();
  study->add_option("--out", out_dir, "study folder: runs/, results.csv, results.md, figures")->required();
  study->add_option("--jobs", jobs, "runs trained at once (default 2)")->check(CLI::PositiveNumber);
  study->add_option("--set", sets, "override a run key for every run: --set train.steps=1000 (repeatable)");
  study->add_flag("--report-only", report_only, "only rewrite results and figures from the runs present");
  study->add_option("--executable", executable, "jeffreys executable that trains each run (default: this one)");

  auto* bench = app.add_subcommand("sbi-benchmark", "run `jeffreys sbi` over tasks x budgets x methods x seeds and report");
  bench->add_option("--config", config_path, "benchmark file (see experiments/sbibm/)")->required();
  bench->add_option("--out", out_dir, "benchmark folder: runs/, results.csv, results.md")->required();
  bench->add_option("--jobs", jobs, "runs at once (default 2)")->check(CLI::PositiveNumber);
  bench->add_flag("--report-only", report_only, "only rewrite results.csv and results.md from the runs present");
  bench->add_option("--executable", executable, "jeffreys executable for each run (default: this one)");

  auto* autoencode = app.add_subcommand("autoencode", "train the convolutional autoencoder of an image study");
  int64_t latent_dim = 0;
  autoencode->add_option("--config", config_path, "image study file (see experiments/fashion_mnist/)")->required();
  autoencode->add_option("--out", out_dir, "folder to create: model, codes, reconstructions, metrics")->required();
  autoencode->add_option("--latent-dim", latent_dim, "latent size (default: the first of autoencoder.latent_dims)")
      ->check(CLI::Range(int64_t{2}, int64_t{4096}));

  auto* images = app.add_subcommand("image-study",
                                    "autoencoder, classifier, then every latent method x seed: FID, precision, recall");
  images->add_option("--config", config_path, "image study file (see experiments/fashion_mnist/)")->required();
  images->add_option("--out", out_dir, "study folder: autoencoder_d<k>/, classifier/, runs/, results")->required();
  images->add_option("--jobs", jobs, "latent runs trained at once (default 2)")->check(CLI::PositiveNumber);
  images->add_flag("--report-only", report_only, "only rewrite results.csv, results.md and figures");
  images->add_option("--executable", executable, "jeffreys executable for each latent run (default: this one)");

  auto* sbi = app.add_subcommand("sbi", "simulation-based inference on an sbibm task: simulate, train, score by C2ST");
  experiment::SbiOptions so;
  std::vector<int> obs_numbers;
  sbi->add_option("--task", so.task, "two_moons, gaussian_linear, gaussian_linear_uniform, slcp, gaussian_mixture, "
                                     "bernoulli_glm, sir, lotka_volterra")->required();
  sbi->add_option("--budget", so.budget, "simulations (default 1000)")->check(CLI::Range(10, 100000000));
  sbi->add_option("--method", so.posterior.method, "npe (maximum likelihood), jeffreys, fixed-penalty, or another preset, with optional suffixes -F<w> (forward weight), -K<k> (flow samples per context), -E<n> (learned context embedding), -warm");
  sbi->add_option("--out", out_dir, "run folder to create")->required();
  sbi->add_option("--observations", so.observations,
                  "folder with obs_<k>/ like ../shared/sbibm/<task>/ (default: ../shared/sbibm/<task>)");
  sbi->add_option("--observation", obs_numbers, "observation numbers to score (default: all found)");
  sbi->add_option("--seed", so.seed, "simulations, initialisation, batches, samples");
  sbi->add_option("--max-epochs", so.posterior.max_epochs, "epoch limit (default 5000; early stopping usually ends sooner)")
      ->check(CLI::PositiveNumber);
  sbi->add_option("--flow-samples", so.posterior.flow_samples, "K flow samples per context for log Z and R (default 16)")
      ->check(CLI::PositiveNumber);
  sbi->add_option("--posterior-samples", so.posterior_samples, "draws per observation and sampler (default 10000)")
      ->check(CLI::PositiveNumber);
  sbi->add_option("--threads", so.threads, "threads of this process (default 1)")->check(CLI::Range(1, 256));
  sbi->add_option("--c2st-folds", so.c2st_folds, "cross-validation folds of C2ST (default 5, sbibm's)")
      ->check(CLI::Range(2, 20));

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
    if (*train) {
      if (!device.empty()) sets.push_back("device=" + device);
      auto config = experiment::load_config(resume && config_path.empty() ? "" : config_path, sets);
      experiment::RunOptions o;
      o.resume = resume;
      o.progress = &err;
      print_outcome(experiment::train_run(config, out_dir, o), out);
    } else if (*demo) {
      if (out_dir.empty()) {
        const auto t = std::time(nullptr);
        std::ostringstream name;
        name << "runs/demo-" << std::put_time(std::gmtime(&t), "%Y%m%d-%H%M%S");
        out_dir = name.str();
      }
      experiment::RunOptions o;
      o.progress = &err;
      print_outcome(experiment::train_run(demo_config(demo_steps), out_dir, o), out);
    } else if (*sample) {
      experiment::sample_run(run_dir, n, model, csv_out, seed);
      out << "wrote " << n << " samples of the " << model << " model to " << csv_out << "\n";
    } else if (*eval) {
      auto m = experiment::evaluate_run(run_dir);
      out << std::setprecision(6);
      for (const auto& [k, v] : m) out << k << " = " << v << "\n";
      out << "wrote " << run_dir << "/eval.json\n";
    } else if (*study) {
      auto cfg = experiment::load_study(config_path, sets);
      if (report_only) {
        for (const auto& f : experiment::report_study(cfg, out_dir)) out << "wrote " << out_dir << "/" << f << "\n";
      } else {
        experiment::StudyOptions o;
        o.jobs = jobs;
        o.executable = executable.empty() ? std::filesystem::read_symlink("/proc/self/exe").string() : executable;
        o.progress = &err;
        auto r = experiment::run_study(cfg, out_dir, o);
        out << "study: " << r.planned << " runs (" << r.skipped << " already finished, " << r.completed << " completed, "
            << r.diverged << " diverged, " << r.failed << " failed) in " << std::fixed << std::setprecision(0) << r.seconds
            << " s\nresults: " << out_dir << "/results.csv, " << out_dir << "/results.md; figures: " << out_dir
            << "/nll_curves.png, lr_panel.png, densities.png\n";
        if (r.failed > 0) return 1;
      }
    } else if (*bench) {
      auto cfg = experiment::load_sbi_benchmark(config_path);
      if (report_only) {
        for (const auto& f : experiment::report_sbi_benchmark(cfg, out_dir)) out << "wrote " << out_dir << "/" << f << "\n";
      } else {
        experiment::SbiBenchmarkOptions o;
        o.jobs = jobs;
        o.executable = executable.empty() ? std::filesystem::read_symlink("/proc/self/exe").string() : executable;
        o.progress = &err;
        const auto failed = experiment::run_sbi_benchmark(cfg, out_dir, o);
        out << "results: " << out_dir << "/results.csv, " << out_dir << "/results.md\n";
        if (failed > 0) {
          err << "error: " << failed << " runs failed (see " << out_dir << "/logs/)\n";
          return 1;
        }
      }
    } else if (*autoencode) {
      auto cfg = experiment::load_image_study(config_path);
      auto r = experiment::autoencode_run(cfg, latent_dim > 0 ? latent_dim : cfg.autoencoder.latent_dims.front(), out_dir,
                                          &err);
      out << "autoencoder (latent size " << r.latent_dim << "): test MSE per pixel " << std::setprecision(5) << r.test_mse
          << " in " << std::fixed << std::setprecision(0) << r.seconds << " s\nfolder: " << out_dir
          << " (model.pt, latents_train.csv, latents_test.csv, reconstructions.png, metrics.csv, summary.json)\n";
    } else if (*images) {
      auto cfg = experiment::load_image_study(config_path);
      if (report_only) {
        for (const auto& f : experiment::report_image_study(cfg, out_dir)) out << "wrote " << out_dir << "/" << f << "\n";
      } else {
        experiment::ImageStudyOptions o;
        o.jobs = jobs;
        o.executable = executable.empty() ? std::filesystem::read_symlink("/proc/self/exe").string() : executable;
        o.progress = &err;
        const auto failed = experiment::run_image_study(cfg, out_dir, o);
        out << "results: " << out_dir << "/results.csv, " << out_dir << "/results.md, " << out_dir << "/samples_d<k>.png\n";
        if (failed > 0) {
          err << "error: " << failed << " runs failed (see " << out_dir << "/logs/)\n";
          return 1;
        }
      }
    } else if (*sbi) {
      so.observation_numbers = obs_numbers;
      if (so.observations.empty()) so.observations = "../shared/sbibm/" + so.task;
      so.posterior.seed = so.seed;
      auto r = experiment::sbi_run(so, out_dir, &err);
      out << "run folder: " << out_dir << " (" << so.task << ", " << so.budget << " simulations, " << so.posterior.method
          << "; trained " << r.training.epochs << " epochs in " << std::fixed << std::setprecision(1) << r.train_seconds
          << " s)\n";
      std::map<std::string, std::pair<double, int>> mean;
      for (const auto& sc : r.scores) {
        out << "observation " << sc.observation << ", " << sc.sampler << ": C2ST " << std::setprecision(3) << sc.c2st << "\n";
        mean[sc.sampler].first += sc.c2st;
        mean[sc.sampler].second += 1;
      }
      for (const auto& [sampler, m] : mean)
        out << "mean C2ST (" << sampler << "): " << std::setprecision(3) << m.first / m.second << "\n";
      out << "results: " << out_dir << "/c2st.csv, " << out_dir << "/summary.json; plots: " << out_dir << "/plots/\n";
    } else if (*plot) {
      experiment::plot_run(run_dir);
      out << "plots written to " << run_dir << "/plots/\n";
    }
  } catch (const train::TrainingDiverged& e) {
    err << "error: " << e.what() << "\n";
    return 3;
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace jeffreys::cli
