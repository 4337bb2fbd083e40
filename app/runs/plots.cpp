#include <filesystem>

#include "app/runs/setup.h"
#include "jeffreys/core/atomic_file.h"
#include "jeffreys/divergence/importance.h"
#include "jeffreys/metrics/grid.h"
#include "jeffreys/plot/charts.h"
#include "jeffreys/plot/png.h"

namespace fs = std::filesystem;

namespace jeffreys::app {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// The first two coordinates of points [n, d] for a scatter plot; one-dimensional data is drawn on
/// the line y = 0.
torch::Tensor plane_of(const torch::Tensor& points) {
  auto x = points.to(torch::kDouble).cpu();
  if (x.size(1) >= 2) return x.narrow(1, 0, 2);
  return torch::cat({x, torch::zeros_like(x)}, 1);
}

std::array<double, 4> plot_extent(const Setup& s) {
  if (s.toy) return s.toy->extent();
  auto x = plane_of(s.train_x);
  if (s.dim() == 1) {
    const double lo = x.select(1, 0).min().item<double>(), hi = x.select(1, 0).max().item<double>();
    const double pad = 0.1 * (hi - lo) + 1e-6;
    return {lo - pad, hi + pad, -1.0, 1.0};
  }
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

}  // namespace

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
    if (!rows.empty() && rows.back().at("step") == static_cast<double>(s.trainer->step_count())) {
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

void draw_plots(Setup& s, const RunFolder& folder, const std::vector<MetricsRow>& rows) {
  const std::string pd = folder.plots_dir();
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
    panels.push_back(plot::scatter(plane_of(train_pts), e, "training data"));
    panels.push_back(plot::scatter(plane_of(fx), e, "main model samples"));
    if (s.uses_proxy) {
      auto qx = divergence::sample_importance_resampling(*s.flow, *s.energy, 2000, 50000, gen).to(torch::kDouble).cpu();
      panels.push_back(plot::scatter(plane_of(qx), e, "proxy samples (SIR)"));
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
  if (s.config.method.is_wgan())
    chart({"wasserstein", "gradient_penalty"}, "critic's estimates", "curve_terms.png", false);
  else
    chart({"F", "P", "R"}, "training terms (nats)", "curve_terms.png", false);
  std::vector<std::string> duals;
  for (const auto& c : s.trainer->columns())
    if (c.rfind("lambda_", 0) == 0 || c.rfind("slack_", 0) == 0) duals.push_back(c);
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


}  // namespace jeffreys::app
