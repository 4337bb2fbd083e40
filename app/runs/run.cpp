#include "app/runs/run.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/runs/progress.h"
#include "app/runs/setup.h"
#include "jeffreys/distributed/communicator.h"
#include "jeffreys/divergence/importance.h"
#include "jeffreys/energy/langevin.h"
#include "jeffreys/train/errors.h"
#include "jeffreys/train/trainer.h"

namespace fs = std::filesystem;

namespace jeffreys::app {

RunSummary train_run(const Config& requested, const std::string& dir, const RunOptions& options) {
  const RunFolder folder(dir);
  Config config = requested;
  // A run killed before it wrote its configuration left nothing to continue: start it afresh.
  const auto& comm = options.communicator;
  const bool writer = !comm || comm->rank() == 0;
  const bool resumable = options.resume && folder.has_config();
  if (resumable) {
    config = folder.read_config();
  } else if (options.resume && writer) {
    folder.remove_temporary_files();
  }
  if (!resumable && fs::exists(dir) && !fs::is_empty(dir)) {
    throw std::runtime_error("output folder '" + dir + "' is not empty (use --resume to continue a run)");
  }
  // Everything that can fail on bad input (data, options) happens before the folder is touched.
  auto s = build(config);
  if (comm && comm->size() > 1) {
    auto* joint = dynamic_cast<train::Trainer*>(s->trainer.get());
    if (joint == nullptr)
      throw std::invalid_argument("method '" + config.method.name + "' does not train data parallel (use one process)");
    joint->set_communicator(comm);
    // Every rank has checked the folder before rank 0 writes into it.
    comm->barrier();
  }
  if (writer) fs::create_directories(dir);
  std::vector<MetricsRow> rows;
  const auto cols = s->columns();
  double wall_offset = 0;
  if (resumable && folder.has_checkpoint()) {
    s->trainer->load(folder.checkpoint_file());
    // Rows logged after the checkpoint are recomputed, exactly, from it.
    for (auto& r : folder.read_metrics())
      if (r.at("step") <= static_cast<double>(s->trainer->step_count())) rows.push_back(r);
    if (!rows.empty()) wall_offset = rows.back().at("wall_seconds");
  } else if (writer) {
    folder.write_config(config);
    write_points_csv(s->train_x, folder.path("train_data.csv"));
    if (s->data_entropy.n > 0) {
      const auto& h = s->data_entropy;
      nlohmann::json j = {{"estimator", "kozachenko-leonenko"}, {"value", h.value}, {"k", h.k}, {"n", h.n}, {"dims", h.dims}};
      if (std::isfinite(h.knn)) {
        // -Hc (cap_by_gaussian_bound set knn): what was capped by what.
        j["estimator"] = "kozachenko-leonenko, capped by the gaussian bound";
        j["knn"] = h.knn;
        j["gaussian_bound"] = std::isfinite(h.gaussian_bound) ? nlohmann::json(h.gaussian_bound) : nlohmann::json(nullptr);
        j["capped"] = h.capped;
      }
      folder.write("data_entropy.json", j.dump(2) + "\n");
    }
  }
  const auto& tc = config.train;
  const auto schedule = schedule_of(config.optim, tc.steps);
  Progress progress(options.progress, tc.steps);
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t start = s->trainer->step_count();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  RunSummary summary;
  summary.dir = dir;
  summary.status = run_status::completed;
  auto save_all = [&](const std::string& status, const std::string& message) {
    if (!writer) return;
    folder.write_metrics(cols, rows);
    folder.write_summary(config, cols, rows, status, message);
  };
  try {
    for (int64_t step = start; step < tc.steps; ++step) {
      if (options.stop_after >= 0 && step - start >= options.stop_after) {
        summary.status = run_status::stopped;
        break;
      }
      MetricsRow trained = s->trainer->step_metrics(s->train_x);
      const int64_t done = step + 1;
      const bool log_now = done % tc.log_every == 0 || done == tc.steps;
      const bool eval_now = done % tc.eval_every == 0 || done == tc.steps;
      if (log_now || eval_now) {
        MetricsRow r;
        r["step"] = static_cast<double>(done);
        r["wall_seconds"] = wall_offset + elapsed();
        for (const auto& [k, v] : trained) r[k] = v;
        const double factor = schedule.factor(step);
        r["lr"] = config.optim.lr * factor;
        r["lr_proxy"] = config.optim.lr_proxy * factor;
        if (eval_now && writer)
          for (const auto& [k, v] : evaluate(*s, done)) r[k] = v;
        rows.push_back(r);
        const double rate = static_cast<double>(done - start) / std::max(elapsed(), 1e-9);
        progress.update(r, rate, log_now || eval_now);
      }
      if (writer && (done % tc.checkpoint_every == 0 || done == tc.steps)) {
        save_all(run_status::running, "");
        s->trainer->save(folder.checkpoint_file());
      }
    }
  } catch (const train::TrainingDiverged& e) {
    progress.finish();
    save_all(run_status::diverged, e.what());
    throw;
  }
  progress.finish();
  summary.steps_done = s->trainer->step_count();
  if (summary.status == run_status::completed) {
    save_all(run_status::completed, "");
    if (options.plots && writer) draw_plots(*s, folder, rows);
  }
  if (!rows.empty()) summary.final_metrics = rows.back();
  return summary;
}

MetricsRow evaluate_run(const std::string& dir) {
  const RunFolder folder(dir);
  auto s = open_run(folder);
  auto m = evaluate(*s, s->trainer->step_count());
  nlohmann::json j;
  j["step"] = s->trainer->step_count();
  for (const auto& [k, v] : m) j[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(std::to_string(v));
  folder.write("eval.json", j.dump(2) + "\n");
  return m;
}

DensityMaps density_maps(const std::string& dir, int64_t n) {
  const RunFolder folder(dir);
  auto s = open_run(folder);
  if (s->dim() != 2) throw std::invalid_argument("'" + dir + "': density maps need 2-D data");
  return density_maps_of(*s, n, folder.read_metrics());
}

std::vector<MetricsRow> read_metrics_csv(const std::string& dir) { return RunFolder(dir).read_metrics(); }

void plot_run(const std::string& dir) {
  const RunFolder folder(dir);
  auto s = open_run(folder);
  draw_plots(*s, folder, folder.read_metrics());
}

torch::Tensor draw_samples(const std::string& dir, int64_t n, const SampleOptions& o) {
  if (n < 1) throw std::invalid_argument("samples: n must be >= 1");
  if (o.sampler != "flow" && o.sampler != "proxy" && o.sampler != "langevin")
    throw std::invalid_argument("sampler must be flow, proxy or langevin, got '" + o.sampler + "'");
  auto s = open_run(RunFolder(dir));
  if (o.sampler != "flow" && !s->uses_proxy)
    throw std::invalid_argument("'" + dir + "': method '" + s->config.method.name + "' trains no energy model to sample");
  torch::NoGradGuard g;
  s->flow->eval();
  auto gen = at::detail::createCPUGenerator(o.seed);
  if (o.sampler == "proxy")
    return divergence::sample_importance_resampling(*s->flow, *s->energy, n, std::max<int64_t>(10 * n, 100000), gen);
  auto x = s->flow->sample(n, {}, gen);
  if (o.sampler == "langevin") {
    torch::AutoGradMode enable(true);
    x = energy::langevin(*s->energy, x, o.langevin_steps, o.langevin_step_size, gen);
  }
  return x;
}

void sample_run(const std::string& dir, int64_t n, const std::string& model, const std::string& out_csv, uint64_t seed) {
  if (model != "main" && model != "proxy") throw std::invalid_argument("--model must be main or proxy, got '" + model + "'");
  SampleOptions o;
  o.sampler = model == "main" ? "flow" : "proxy";
  o.seed = seed;
  write_points_csv(draw_samples(dir, n, o), out_csv);
}

std::vector<std::string> run_folder_files() { return RunFolder::files(); }

}  // namespace jeffreys::app
