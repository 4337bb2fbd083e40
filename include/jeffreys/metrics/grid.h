#pragma once
/// Quadrature on a regular 2-D grid: divergences between two log-densities evaluated on the same
/// cells, for 2-D studies where the reference density π is known in closed form.
#include <torch/types.h>

#include <array>
#include <cstdint>

namespace jeffreys::metrics {

/// A regular 2-D grid of cell centres over a box, for quadrature and heat maps.
struct Grid2D {
  /// The box [xmin, xmax] × [ymin, ymax] and the number of cells along x and y.
  double xmin = -4, xmax = 4, ymin = -4, ymax = 4;
  int64_t nx = 200, ny = 200;

  /// Cell centres, [ny*nx, 2] float64, row-major: row iy, column ix (index iy*nx + ix); y increases
  /// with iy, so `values.view({ny, nx})` is a heat map with row 0 at the bottom.
  torch::Tensor points() const;
  /// Area of one cell, (xmax - xmin) / nx * (ymax - ymin) / ny.
  double cell_area() const;
  /// {xmin, xmax, ymin, ymax}, the extent that plot::heatmap takes.
  std::array<double, 4> extent() const { return {xmin, xmax, ymin, ymax}; }
};

/// Divergences between a reference density π and a model p on a grid, in nats.
struct GridDivergence {
  /// KL(π‖p), mode covering.
  double forward_kl;
  /// KL(p‖π), mode seeking.
  double reverse_kl;
  /// forward_kl + reverse_kl.
  double jeffreys;
  /// Σ exp(log π) · cell area before renormalising: far from 1 means the grid misses mass.
  double mass_reference;
  /// Σ exp(log p) · cell area before renormalising.
  double mass_model;
};

/// Divergences between a reference density π and a model p from their log-densities on the same
/// grid cells (float64 [N], any shape with N elements; other dtypes are converted): forward
/// KL(π‖p), reverse KL(p‖π) and Jeffreys = their sum. Each density is renormalised over the grid
/// first, so the result is the divergence of the two grid-restricted distributions and does not
/// depend on normalising constants; the raw masses are reported beside it. Cells where π = 0
/// (log π = -inf) contribute 0 to KL(π‖p); if p has mass there, KL(p‖π) is +infinity (and the
/// other way round), returned as such, not NaN. A NaN or +inf log-density gives NaN.
GridDivergence divergence_on_grid(const torch::Tensor& log_reference, const torch::Tensor& log_model,
                                  double cell_area);

}  // namespace jeffreys::metrics
