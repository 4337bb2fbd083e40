#include "jeffreys/metrics/grid.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace jeffreys::metrics {

namespace {

void check_grid(const Grid2D& g) {
  TORCH_CHECK(g.nx >= 1 && g.ny >= 1, "Grid2D: nx and ny must be >= 1, got ", g.nx, " x ", g.ny);
  TORCH_CHECK(std::isfinite(g.xmin) && std::isfinite(g.xmax) && g.xmax > g.xmin,
              "Grid2D: need finite xmin < xmax, got [", g.xmin, ", ", g.xmax, "]");
  TORCH_CHECK(std::isfinite(g.ymin) && std::isfinite(g.ymax) && g.ymax > g.ymin,
              "Grid2D: need finite ymin < ymax, got [", g.ymin, ", ", g.ymax, "]");
}

/// KL(a‖b) = Σ a_i (log a_i - log b_i) from normalised log-probabilities per cell. Cells with
/// a_i = 0 contribute 0 (the 0 log 0 = 0 convention) even where b_i = 0 too; a cell with a_i > 0
/// and b_i = 0 makes it +inf.
double kl(const torch::Tensor& log_a, const torch::Tensor& log_b) {
  const auto support = log_a > -std::numeric_limits<double>::infinity();
  // NaN inputs must not hide behind the mask: they give NaN.
  if (log_a.isnan().any().item<bool>() || log_b.isnan().any().item<bool>())
    return std::numeric_limits<double>::quiet_NaN();
  if ((support & (log_b == -std::numeric_limits<double>::infinity())).any().item<bool>())
    return std::numeric_limits<double>::infinity();
  // torch::where keeps 0 · (-inf) out of the sum.
  auto terms = torch::where(support, log_a.exp() * (log_a - log_b), torch::zeros_like(log_a));
  return terms.sum().item<double>();
}

}  // namespace

torch::Tensor Grid2D::points() const {
  check_grid(*this);
  const auto opts = torch::TensorOptions().dtype(torch::kDouble);
  const double dx = (xmax - xmin) / static_cast<double>(nx), dy = (ymax - ymin) / static_cast<double>(ny);
  auto xs = xmin + (torch::arange(nx, opts) + 0.5) * dx;
  auto ys = ymin + (torch::arange(ny, opts) + 0.5) * dy;
  // meshgrid with "ij" indexing over (y, x) gives row iy, column ix.
  auto yy = ys.unsqueeze(1).expand({ny, nx});
  auto xx = xs.unsqueeze(0).expand({ny, nx});
  return torch::stack({xx.reshape(-1), yy.reshape(-1)}, 1);
}

double Grid2D::cell_area() const {
  check_grid(*this);
  return (xmax - xmin) / static_cast<double>(nx) * (ymax - ymin) / static_cast<double>(ny);
}

GridDivergence divergence_on_grid(const torch::Tensor& log_reference, const torch::Tensor& log_model,
                                  double cell_area) {
  TORCH_CHECK(log_reference.defined() && log_model.defined(), "divergence_on_grid: undefined tensor");
  TORCH_CHECK(log_reference.numel() == log_model.numel() && log_reference.numel() > 0,
              "divergence_on_grid: log_reference and log_model must have the same number of cells, got ",
              log_reference.numel(), " and ", log_model.numel());
  TORCH_CHECK(cell_area > 0 && std::isfinite(cell_area), "divergence_on_grid: cell_area must be > 0, got ",
              cell_area);
  torch::NoGradGuard g;
  const auto lr = log_reference.detach().reshape(-1).to(torch::kDouble);
  const auto lm = log_model.detach().reshape(-1).to(torch::kDouble);
  // Renormalise in log space: densities of 10^-300 on most cells must not underflow to a zero mass.
  const auto lse_r = torch::logsumexp(lr, 0), lse_m = torch::logsumexp(lm, 0);
  GridDivergence d{};
  d.mass_reference = std::exp(lse_r.item<double>()) * cell_area;
  d.mass_model = std::exp(lse_m.item<double>()) * cell_area;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (!std::isfinite(lse_r.item<double>()) || !std::isfinite(lse_m.item<double>())) {
    // No mass at all (every cell -inf), or an infinite or NaN density: nothing to renormalise.
    d.forward_kl = d.reverse_kl = d.jeffreys = nan;
    return d;
  }
  const auto pr = lr - lse_r, pm = lm - lse_m;
  d.forward_kl = kl(pr, pm);
  d.reverse_kl = kl(pm, pr);
  d.jeffreys = d.forward_kl + d.reverse_kl;
  return d;
}

}  // namespace jeffreys::metrics
