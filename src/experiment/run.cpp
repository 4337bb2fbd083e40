#include "jeffreys/experiment/run.h"

#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "csv_number.h"
#include "jeffreys/core/allocator.h"
#include "jeffreys/core/atomic_file.h"
#include "jeffreys/core/threads.h"
#include "jeffreys/data/csv.h"
#include "jeffreys/data/split.h"
#include "jeffreys/data/toy2d.h"
#include "jeffreys/divergence/importance.h"
#include "jeffreys/energy/energy.h"
#include "jeffreys/energy/langevin.h"
#include "jeffreys/flows/presets.h"
#include "jeffreys/metrics/grid.h"
#include "jeffreys/metrics/mmd.h"
#include "jeffreys/metrics/nll.h"
#include "jeffreys/plot/charts.h"
#include "jeffreys/plot/png.h"
#include "jeffreys/train/trainer.h"
#include "jeffreys/train/wgan_gp.h"

namespace fs = std::filesystem;

namespace jeffreys::experiment {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const char* const kCheckpoint = "checkpoint.pt";

/// Everything a run is built from; the same for a fresh run, a resumed one, eval and plot.
struct Setup {
  Config config;
  std::unique_ptr<data::Toy2D> toy;
  torch::Tensor train_x, validation;
  flows::Flow flow{nullptr};
  std::shared_ptr<energy::MLPEnergyImpl> energy;
  /// Exactly one of the two trains: the primal-dual Trainer, or the WGAN-GP baseline.
  std::unique_ptr<train::Trainer> trainer;
  std::unique_ptr<train::WganGpTrainer> wgan;
  bool uses_proxy = false;
  /// log π on the evaluation grid: constant for the run, and seconds to compute for quadrature densities.
  torch::Tensor grid_log_density;
  int64_t dim() const { return train_x.size(1); }
  int64_t step_count() const { return wgan ? wgan->step_count() : trainer->step_count(); }
  void save(const std::string& path) const { wgan ? wgan->save(path) : trainer->save(path); }
  void load(const std::string& path) { wgan ? wgan->load(path) : trainer->load(path); }
  size_t n_duals() const { return wgan ? 0 : trainer->primal_dual().duals().size(); }
};

train::Schedule schedule_of(const OptimConfig& o, int64_t steps) {
  train::Schedule s;
  s.kind = train::schedule_from_string(o.schedule);
  s.warmup_steps = o.warmup_steps;
  s.total_steps = steps;
  s.min_factor = o.min_lr_factor;
  return s;
}

std::unique_ptr<Setup> build(const Config& c) {
  auto s = std::make_unique<Setup>();
  s->config = c;
  set_num_threads(static_cast<int>(c.threads));
  keep_freed_memory();
  if (c.data.name == "csv") {
    auto x = data::read_csv(c.data.csv);
    if (!c.data.test_csv.empty()) {
      s->train_x = x;
      s->validation = data::read_csv(c.data.test_csv);
      if (s->validation.size(1) != x.size(1))
        throw data::DataError(c.data.test_csv + ": " + std::to_string(s->validation.size(1)) + " columns, but " +
                              c.data.csv + " has " + std::to_string(x.size(1)));
    } else {
      auto sp = data::split(x, c.data.validation_fraction, c.seed);
      s->train_x = sp.train;
      s->validation = sp.validation;
    }
  } else {
    s->toy = data::make_toy2d(c.data.name);
    s->train_x = data::fixed_training_set(*s->toy, c.data.n_train, c.seed);
  }
  torch::manual_seed(c.seed);
  const int64_t d = s->train_x.size(1);
  TORCH_CHECK(d >= 2 || c.flow.family == "maf" || c.flow.family == "maf-spline",
              "data has one column: coupling flows need 2 or more; use flow.family = \"maf\"");
  s->flow = flows::make_flow(flows::FlowOptions(d)
                                 .family(flows::flow_family_from_string(c.flow.family))
                                 .layers(c.flow.layers)
                                 .hidden(c.flow.hidden)
                                 .depth(c.flow.depth)
                                 .activation(nn::activation_from_string(c.flow.activation))
                                 .bins(c.flow.bins)
                                 .bound(c.flow.bound)
                                 .scale_clamp(c.flow.scale_clamp)
                                 .actnorm(c.flow.actnorm)
                                 .lu_linear(c.flow.lu_linear)
                                 .permutation(flows::permutation_from_string(c.flow.permutation))
                                 .seed(c.seed));
  s->energy = std::make_shared<energy::MLPEnergyImpl>(energy::MLPEnergyOptions(d)
                                                          .hidden(c.energy.hidden)
                                                          .depth(c.energy.depth)
                                                          .activation(nn::activation_from_string(c.energy.activation)));
  const torch::Device device(c.device);
  s->flow->to(device);
  s->energy->to(device);
  s->train_x = s->train_x.to(device);
  if (s->validation.defined()) s->validation = s->validation.to(device);
  if (c.method.is_wgan()) {
    train::WganGpOptions w;
    w.batch_size = c.train.batch_size;
    w.critic_steps = c.wgan.critic_steps;
    w.gp_weight = c.wgan.gp_weight;
    w.generator = {c.optim.lr, c.optim.beta1, c.optim.beta2, 1e-8, c.optim.weight_decay};
    w.critic = {c.optim.lr_proxy, c.optim.beta1, c.optim.beta2, 1e-8, c.optim.weight_decay};
    w.schedule = schedule_of(c.optim, c.train.steps);
    w.divergence_threshold = c.train.divergence_threshold;
    w.seed = c.seed;
    auto critic = train::make_critic(d, c.wgan.critic_hidden, c.wgan.critic_depth);
    critic->to(device);
    s->wgan = std::make_unique<train::WganGpTrainer>(s->flow, critic, w);
    return s;
  }
  auto f = c.method.formulation();
  s->uses_proxy = f.uses("P") || f.uses("R");
  train::TrainerOptions o;
  o.batch_size = c.train.batch_size;
  o.flow_samples = c.train.flow_samples;
  o.main.adam.lr = c.optim.lr;
  o.proxy.adam.lr = c.optim.lr_proxy;
  for (auto* m : {&o.main, &o.proxy}) {
    m->adam.beta1 = c.optim.beta1;
    m->adam.beta2 = c.optim.beta2;
    m->adam.weight_decay = c.optim.weight_decay;
    m->clip_grad_norm = c.optim.clip_grad_norm;
    m->schedule = schedule_of(c.optim, c.train.steps);
  }
  o.divergence_threshold = c.train.divergence_threshold;
  o.seed = c.seed;
  s->trainer = std::make_unique<train::Trainer>(s->flow, s->energy, f, o);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

at::Generator eval_generator(uint64_t seed, uint64_t salt) {
  return at::detail::createCPUGenerator(seed * 1000003ULL + salt);
}

/// Test sample: fresh draws from the true distribution (the same at every evaluation), else the validation split.
torch::Tensor test_set(const Setup& s) {
  if (s.toy) return s.toy->sample(s.config.eval.n_test, eval_generator(s.config.seed, 1)).to(s.train_x.device());
  return s.validation;
}

MetricsRow evaluate(Setup& s, int64_t step) {
  torch::NoGradGuard g;
  s.flow->eval();
  MetricsRow m;
  auto test = test_set(s);
  m["nll_flow"] = metrics::flow_nll(*s.flow, test);
  if (s.uses_proxy) {
    auto p = metrics::proxy_nll(*s.flow, *s.energy, test, s.config.eval.log_z_samples,
                                eval_generator(s.config.seed, 2 + static_cast<uint64_t>(step)));
    m["nll_proxy"] = p.nll;
    m["log_z"] = p.log_z;
    m["log_z_se"] = p.log_z_std_error;
  }
  if (s.toy && s.toy->has_log_prob() && s.dim() == 2) {
    const auto e = s.toy->extent();
    metrics::Grid2D grid{e[0], e[1], e[2], e[3], s.config.eval.grid, s.config.eval.grid};
    auto pts = grid.points();
    if (!s.grid_log_density.defined()) s.grid_log_density = s.toy->log_prob(pts);
    auto log_p = s.flow->log_prob(pts.to(s.train_x.options())).to(torch::kDouble).cpu();
    auto d = metrics::divergence_on_grid(s.grid_log_density, log_p, grid.cell_area());
    m["forward_kl"] = d.forward_kl;
    m["reverse_kl"] = d.reverse_kl;
    m["jeffreys"] = d.jeffreys;
  }
  const int64_t k = std::min<int64_t>(s.config.eval.mmd_samples, test.size(0));
  auto model = s.flow->sample(k, {}, eval_generator(s.config.seed, 3 + static_cast<uint64_t>(step)));
  m["mmd"] = metrics::mmd2(model.to(torch::kDouble).cpu(), test.narrow(0, 0, k).to(torch::kDouble).cpu());
  s.flow->train();
  return m;
}

// ---------------------------------------------------------------------------------------------
// metrics.csv and summary.json

/// One training step; returns the training columns of metrics.csv for it.
MetricsRow train_step(Setup& s) {
  MetricsRow r;
  if (s.wgan) {
    auto w = s.wgan->step_on(s.train_x);
    r["critic_loss"] = w.critic_loss;
    r["wasserstein"] = w.wasserstein;
    r["gradient_penalty"] = w.gradient_penalty;
    r["generator_loss"] = w.generator_loss;
    return r;
  }
  auto est = s.trainer->step_on(s.train_x);
  for (const char* k : {"F", "P", "R"}) r[k] = est.terms.count(k) ? est.terms[k] : kNaN;
  r["loss"] = est.loss;
  const auto& duals = s.trainer->primal_dual().duals();
  for (size_t i = 0; i < duals.size(); ++i) {
    r["lambda_" + std::to_string(i)] = duals[i].lambda;
    r["slack_" + std::to_string(i)] = duals[i].slack;
  }
  r["ess"] = s.uses_proxy ? est.ess : kNaN;
  return r;
}

std::vector<std::string> columns_for(const Setup& s) {
  std::vector<std::string> c = {"step", "wall_seconds"};
  if (s.wgan) {
    for (const char* k : {"critic_loss", "wasserstein", "gradient_penalty", "generator_loss"}) c.push_back(k);
  } else {
    for (const char* k : {"F", "P", "R", "loss"}) c.push_back(k);
  }
  for (size_t i = 0; i < s.n_duals(); ++i) {
    c.push_back("lambda_" + std::to_string(i));
    c.push_back("slack_" + std::to_string(i));
  }
  for (const char* k : {"ess", "lr", "lr_proxy", "nll_flow", "nll_proxy", "log_z", "log_z_se", "forward_kl",
                        "reverse_kl", "jeffreys", "mmd"})
    c.push_back(k);
  return c;
}

void write_metrics(const std::string& path, const std::vector<std::string>& cols, const std::vector<MetricsRow>& rows) {
  std::ostringstream o;
  for (size_t i = 0; i < cols.size(); ++i) o << (i ? "," : "") << cols[i];
  o << "\n";
  for (const auto& r : rows) {
    for (size_t i = 0; i < cols.size(); ++i) {
      auto it = r.find(cols[i]);
      o << (i ? "," : "") << detail::csv_number(it == r.end() ? kNaN : it->second);
    }
    o << "\n";
  }
  write_file_atomically(path, o.str());
}

std::vector<MetricsRow> read_metrics(const std::string& path) {
  std::vector<MetricsRow> rows;
  std::ifstream in(path);
  if (!in) return rows;
  std::string line;
  if (!std::getline(in, line)) return rows;
  std::vector<std::string> cols;
  {
    std::stringstream h(line);
    std::string c;
    while (std::getline(h, c, ',')) cols.push_back(c);
  }
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    MetricsRow r;
    std::stringstream l(line);
    std::string f;
    size_t i = 0;
    while (i < cols.size()) {
      if (!std::getline(l, f, ',')) f.clear();
      r[cols[i++]] = f.empty() ? kNaN : std::stod(f);
    }
    rows.push_back(r);
  }
  return rows;
}

bool higher_is_better(const std::string& k) { return k == "ess"; }

nlohmann::json summary_json(const Setup& s, const std::vector<MetricsRow>& rows, const std::string& status,
                            const std::string& message) {
  nlohmann::json j;
  j["status"] = status;
  if (!message.empty()) j["message"] = message;
  j["method"] = s.config.method.name;
  j["data"] = s.config.data.name == "csv" ? s.config.data.csv : s.config.data.name;
  j["steps_planned"] = s.config.train.steps;
  j["steps_done"] = rows.empty() ? 0 : static_cast<int64_t>(rows.back().at("step"));
  j["wall_seconds"] = rows.empty() ? 0.0 : rows.back().at("wall_seconds");
  nlohmann::json fin = nlohmann::json::object(), best = nlohmann::json::object();
  for (const auto& col : columns_for(s)) {
    if (col == "step" || col == "wall_seconds") continue;
    double last = kNaN, bv = kNaN;
    int64_t bstep = -1;
    for (const auto& r : rows) {
      auto it = r.find(col);
      if (it == r.end() || std::isnan(it->second)) continue;
      last = it->second;
      const bool better = std::isnan(bv) || (higher_is_better(col) ? it->second > bv : it->second < bv);
      if (better) {
        bv = it->second;
        bstep = static_cast<int64_t>(r.at("step"));
      }
    }
    if (std::isnan(last)) continue;
    fin[col] = std::isfinite(last) ? nlohmann::json(last) : nlohmann::json(std::to_string(last));
    best[col] = {{"value", std::isfinite(bv) ? nlohmann::json(bv) : nlohmann::json(std::to_string(bv))}, {"step", bstep}};
  }
  j["final"] = fin;
  j["best"] = best;
  return j;
}

// ---------------------------------------------------------------------------------------------
// Progress

class Progress {
 public:
  Progress(std::ostream* out, int64_t total) : out_(out), total_(total) {
    tty_ = out_ == &std::cerr ? isatty(2) : (out_ == &std::cout ? isatty(1) : false);
  }
  void update(const MetricsRow& r, double steps_per_second, bool log_line) {
    if (out_ == nullptr) return;
    const auto now = std::chrono::steady_clock::now();
    if (tty_ && !log_line && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double step = r.at("step");
    const double left = steps_per_second > 0 ? (static_cast<double>(total_) - step) / steps_per_second : 0;
    std::ostringstream o;
    o << "step " << static_cast<int64_t>(step) << "/" << total_ << std::fixed << std::setprecision(3);
    for (const char* k : {"F", "P", "R", "lambda_0", "wasserstein", "ess", "nll_flow", "nll_proxy"}) {
      auto it = r.find(k);
      if (it != r.end() && !std::isnan(it->second)) o << "  " << k << " " << it->second;
    }
    o << std::setprecision(0) << "  " << steps_per_second << " steps/s  " << static_cast<int64_t>(left) << " s left";
    if (tty_) {
      *out_ << "\r\033[K" << o.str() << std::flush;
    } else if (log_line) {
      *out_ << o.str() << "\n" << std::flush;
    }
  }
  void finish() {
    if (out_ != nullptr && tty_) *out_ << "\n";
  }

 private:
  std::ostream* out_;
  int64_t total_;
  bool tty_ = false;
  std::chrono::steady_clock::time_point last_{};
};

// ---------------------------------------------------------------------------------------------
// Plots

std::array<double, 4> plot_extent(const Setup& s) {
  if (s.toy) return s.toy->extent();
  auto x = s.train_x.to(torch::kDouble).cpu();
  auto lo = std::get<0>(x.min(0)), hi = std::get<0>(x.max(0));
  const double px = 0.1 * (hi[0].item<double>() - lo[0].item<double>()) + 1e-6;
  const double py = 0.1 * (hi[1].item<double>() - lo[1].item<double>()) + 1e-6;
  return {lo[0].item<double>() - px, hi[0].item<double>() + px, lo[1].item<double>() - py, hi[1].item<double>() + py};
}

plot::HeatmapOptions points_style() { return plot::HeatmapOptions().point_radius(1.2); }

std::vector<double> column(const std::vector<MetricsRow>& rows, const std::string& k) {
  std::vector<double> v;
  for (const auto& r : rows) {
    auto it = r.find(k);
    v.push_back(it == r.end() ? kNaN : it->second);
  }
  return v;
}

/// Densities on an n×n grid over the plotting extent (2-D data only).
DensityMaps density_maps_of(Setup& s, int64_t n, const std::vector<MetricsRow>& rows) {
  torch::NoGradGuard g;
  s.flow->eval();
  DensityMaps m;
  m.extent = plot_extent(s);
  m.train_points = s.train_x.to(torch::kDouble).cpu();
  const auto& e = m.extent;
  metrics::Grid2D grid{e[0], e[1], e[2], e[3], n, n};
  auto pts = grid.points().to(s.train_x.options());
  m.flow = torch::exp(s.flow->log_prob(pts).to(torch::kDouble).cpu().view({n, n}));
  if (s.toy && s.toy->has_log_prob()) m.truth = torch::exp(s.toy->log_prob(grid.points()).view({n, n}));
  if (s.uses_proxy) {
    // The evaluation at the checkpoint's step already estimated log Z from as many samples.
    double log_z = kNaN;
    if (!rows.empty() && rows.back().at("step") == static_cast<double>(s.step_count())) {
      auto it = rows.back().find("log_z");
      if (it != rows.back().end()) log_z = it->second;
    }
    if (std::isnan(log_z))
      log_z = divergence::estimate_log_z(*s.flow, *s.energy, s.config.eval.log_z_samples, {}, 8192,
                                         eval_generator(s.config.seed, 4))
                  .log_z;
    m.proxy = torch::exp((-s.energy->energy(pts) - log_z).to(torch::kDouble).cpu().view({n, n}));
  }
  s.flow->train();
  return m;
}

void draw_plots(Setup& s, const std::string& dir, const std::vector<MetricsRow>& rows) {
  const std::string pd = dir + "/plots";
  fs::create_directories(pd);
  torch::NoGradGuard g;
  const auto e = plot_extent(s);
  auto train_pts = s.train_x.to(torch::kDouble).cpu();
  if (s.dim() == 2) {
    auto m = density_maps_of(s, 160, rows);
    std::vector<plot::Image> panels;
    if (m.truth.defined()) panels.push_back(plot::heatmap(m.truth, e, "true density"));
    panels.push_back(plot::heatmap(m.flow, e, "main model (flow)", train_pts, points_style()));
    plot::save_png(panels.back(), pd + "/density_main.png");
    if (m.proxy.defined()) {
      panels.push_back(plot::heatmap(m.proxy, e, "proxy (energy model)", train_pts, points_style()));
      plot::save_png(panels.back(), pd + "/density_proxy.png");
    }
    plot::save_png(plot::tile(panels, static_cast<int>(panels.size())), pd + "/densities.png");
  }
  s.flow->eval();
  {
    std::vector<plot::Image> panels;
    auto gen = eval_generator(s.config.seed, 5);
    auto fx = s.flow->sample(2000, {}, gen).to(torch::kDouble).cpu();
    panels.push_back(plot::scatter(train_pts.narrow(1, 0, 2), e, "training data"));
    panels.push_back(plot::scatter(fx.narrow(1, 0, 2), e, "main model samples"));
    if (s.uses_proxy) {
      auto qx = divergence::sample_importance_resampling(*s.flow, *s.energy, 2000, 50000, gen).to(torch::kDouble).cpu();
      panels.push_back(plot::scatter(qx.narrow(1, 0, 2), e, "proxy samples (SIR)"));
    }
    plot::save_png(plot::tile(panels, static_cast<int>(panels.size())), pd + "/samples.png");
  }
  auto steps = column(rows, "step");
  auto series = [&](const std::vector<std::string>& keys) {
    std::vector<plot::Series> out;
    for (const auto& k : keys) {
      // Evaluation metrics exist only on evaluation rows: keep the finite points so they join up.
      auto y = column(rows, k);
      plot::Series ser{k, {}, {}};
      for (size_t i = 0; i < y.size(); ++i)
        if (std::isfinite(y[i])) {
          ser.x.push_back(steps[i]);
          ser.y.push_back(y[i]);
        }
      if (!ser.x.empty()) out.push_back(ser);
    }
    return out;
  };
  auto chart = [&](const std::vector<std::string>& keys, const std::string& title, const std::string& file, bool log_y) {
    auto ss = series(keys);
    if (!ss.empty()) plot::save_png(plot::line_chart(ss, title, "step", title, log_y), pd + "/" + file);
  };
  chart({"nll_flow", "nll_proxy"}, "NLL on test data (nats)", "curve_nll.png", false);
  if (s.wgan)
    chart({"wasserstein", "gradient_penalty"}, "critic's estimates", "curve_terms.png", false);
  else
    chart({"F", "P", "R"}, "training terms (nats)", "curve_terms.png", false);
  std::vector<std::string> duals;
  for (size_t i = 0; i < s.n_duals(); ++i) {
    duals.push_back("lambda_" + std::to_string(i));
    duals.push_back("slack_" + std::to_string(i));
  }
  chart(duals, "dual variables and slacks", "curve_duals.png", false);
  chart({"ess"}, "effective sample size", "curve_ess.png", false);
  chart({"forward_kl", "reverse_kl", "jeffreys"}, "divergences of the main model", "curve_divergences.png", true);
  s.flow->train();
}

/// Points [n, d] as CSV with a header x0, x1, ... (readable by data::read_csv).
void write_points_csv(const torch::Tensor& points, const std::string& path) {
  auto x = points.to(torch::kDouble).cpu().contiguous();
  std::ostringstream o;
  for (int64_t j = 0; j < x.size(1); ++j) o << (j ? "," : "") << "x" << j;
  o << "\n" << std::setprecision(9);
  auto a = x.accessor<double, 2>();
  for (int64_t i = 0; i < x.size(0); ++i) {
    for (int64_t j = 0; j < x.size(1); ++j) o << (j ? "," : "") << a[i][j];
    o << "\n";
  }
  write_file_atomically(path, o.str());
}

std::unique_ptr<Setup> open_run(const std::string& dir) {
  const std::string cfg = dir + "/config.toml";
  if (!fs::exists(cfg)) throw std::runtime_error("'" + dir + "' is not a run folder (no config.toml)");
  auto s = build(load_config(cfg));
  if (!fs::exists(dir + "/" + kCheckpoint)) throw std::runtime_error("'" + dir + "' has no checkpoint yet");
  s->load(dir + "/" + kCheckpoint);
  return s;
}

}  // namespace

std::vector<std::string> run_folder_files() {
  return {"config.toml",          "train_data.csv",     "metrics.csv",          "summary.json",
          kCheckpoint,            "plots/densities.png", "plots/density_main.png", "plots/samples.png",
          "plots/curve_nll.png",  "plots/curve_terms.png", "plots/curve_ess.png"};
}

RunSummary train_run(const Config& requested, const std::string& dir, const RunOptions& options) {
  Config config = requested;
  // A run killed before it wrote its configuration left nothing to continue: start it afresh.
  const bool resumable = options.resume && fs::exists(dir + "/config.toml");
  if (resumable) {
    config = load_config(dir + "/config.toml");
  } else if (options.resume && fs::exists(dir)) {
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".tmp") fs::remove(e.path());
  }
  if (!resumable && fs::exists(dir) && !fs::is_empty(dir)) {
    throw std::runtime_error("output folder '" + dir + "' is not empty (use --resume to continue a run)");
  }
  // Everything that can fail on bad input (data, options) happens before the folder is touched.
  auto s = build(config);
  fs::create_directories(dir);
  std::vector<MetricsRow> rows;
  const auto cols = columns_for(*s);
  double wall_offset = 0;
  if (resumable && fs::exists(dir + "/" + kCheckpoint)) {
    s->load(dir + "/" + kCheckpoint);
    // Rows logged after the checkpoint are recomputed, exactly, from it.
    for (auto& r : read_metrics(dir + "/metrics.csv"))
      if (r.at("step") <= static_cast<double>(s->step_count())) rows.push_back(r);
    if (!rows.empty()) wall_offset = rows.back().at("wall_seconds");
  } else {
    write_file_atomically(dir + "/config.toml", config.to_toml());
    write_points_csv(s->train_x, dir + "/train_data.csv");
  }
  const auto& tc = config.train;
  Progress progress(options.progress, tc.steps);
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t start = s->step_count();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  RunSummary summary;
  summary.dir = dir;
  summary.status = "completed";
  auto save_all = [&](const std::string& status, const std::string& message) {
    write_metrics(dir + "/metrics.csv", cols, rows);
    write_file_atomically(dir + "/summary.json", summary_json(*s, rows, status, message).dump(2) + "\n");
  };
  try {
    for (int64_t step = start; step < tc.steps; ++step) {
      if (options.stop_after >= 0 && step - start >= options.stop_after) {
        summary.status = "stopped";
        break;
      }
      MetricsRow trained = train_step(*s);
      const int64_t done = step + 1;
      const bool log_now = done % tc.log_every == 0 || done == tc.steps;
      const bool eval_now = done % tc.eval_every == 0 || done == tc.steps;
      if (log_now || eval_now) {
        MetricsRow r;
        r["step"] = static_cast<double>(done);
        r["wall_seconds"] = wall_offset + elapsed();
        for (const auto& [k, v] : trained) r[k] = v;
        const double factor = schedule_of(config.optim, tc.steps).factor(step);
        r["lr"] = config.optim.lr * factor;
        r["lr_proxy"] = config.optim.lr_proxy * factor;
        if (eval_now)
          for (const auto& [k, v] : evaluate(*s, done)) r[k] = v;
        rows.push_back(r);
        const double rate = static_cast<double>(done - start) / std::max(elapsed(), 1e-9);
        progress.update(r, rate, log_now || eval_now);
      }
      if (done % tc.checkpoint_every == 0 || done == tc.steps) {
        save_all("running", "");
        s->save(dir + "/" + kCheckpoint);
      }
    }
  } catch (const train::TrainingDiverged& e) {
    progress.finish();
    save_all("diverged", e.what());
    throw;
  }
  progress.finish();
  summary.steps_done = s->step_count();
  if (summary.status == "completed") {
    save_all("completed", "");
    if (options.plots) draw_plots(*s, dir, rows);
  }
  if (!rows.empty()) summary.final_metrics = rows.back();
  return summary;
}

MetricsRow evaluate_run(const std::string& dir) {
  auto s = open_run(dir);
  auto m = evaluate(*s, s->step_count());
  nlohmann::json j;
  j["step"] = s->step_count();
  for (const auto& [k, v] : m) j[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(std::to_string(v));
  write_file_atomically(dir + "/eval.json", j.dump(2) + "\n");
  return m;
}

DensityMaps density_maps(const std::string& dir, int64_t n) {
  auto s = open_run(dir);
  if (s->dim() != 2) throw std::invalid_argument("'" + dir + "': density maps need 2-D data");
  return density_maps_of(*s, n, read_metrics(dir + "/metrics.csv"));
}

std::vector<MetricsRow> read_metrics_csv(const std::string& dir) { return read_metrics(dir + "/metrics.csv"); }

void plot_run(const std::string& dir) {
  auto s = open_run(dir);
  draw_plots(*s, dir, read_metrics(dir + "/metrics.csv"));
}

torch::Tensor draw_samples(const std::string& dir, int64_t n, const SampleOptions& o) {
  if (n < 1) throw std::invalid_argument("samples: n must be >= 1");
  if (o.sampler != "flow" && o.sampler != "proxy" && o.sampler != "langevin")
    throw std::invalid_argument("sampler must be flow, proxy or langevin, got '" + o.sampler + "'");
  auto s = open_run(dir);
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

}  // namespace jeffreys::experiment
