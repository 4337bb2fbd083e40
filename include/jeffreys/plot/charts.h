#pragma once
/// Figures for 2-D studies and training logs: heat maps of densities, scatter plots of samples, line
/// charts of metrics over steps, and a tiling of panels into one image.
#include <torch/arg.h>
#include <torch/types.h>

#include <array>
#include <limits>
#include <string>
#include <vector>

#include "jeffreys/plot/colormap.h"
#include "jeffreys/plot/image.h"

namespace jeffreys::plot {

/// Size, colour scale and point style of a heat map.
struct HeatmapOptions {
  /// Size of the whole panel in pixels; a title takes a band at the top, the map fills the rest.
  TORCH_ARG(int, width) = 400;
  TORCH_ARG(int, height) = 400;
  /// Colour by log(value): for densities, whose interesting structure spans decades. Values <= 0
  /// (and those below log_floor × the maximum) take the low end of the colormap.
  TORCH_ARG(bool, log_scale) = false;
  /// Lowest value shown on a log scale, relative to the maximum.
  TORCH_ARG(double, log_floor) = 1e-6;
  /// Colour range in value units (also on a log scale); NaN means the minimum / maximum of the
  /// values (on a log scale the minimum is raised to log_floor × the maximum). Set both to compare panels.
  TORCH_ARG(double, vmin) = std::numeric_limits<double>::quiet_NaN();
  TORCH_ARG(double, vmax) = std::numeric_limits<double>::quiet_NaN();
  /// Radius in pixels of the overlaid points (white, outlined in black).
  TORCH_ARG(double, point_radius) = 2.5;
};

/// Colour of NaN cells in a heat map.
inline constexpr Color kMissingColor = {200, 200, 200};

/// Heat map of values [ny, nx] (row 0 at the bottom) with the viridis colormap (log scale option), optional title;
/// optional points [n,2] in data coordinates drawn on top (small white/black-outlined dots), given the extent [xmin,xmax,ymin,ymax].
/// Cells are drawn nearest-neighbour; NaN cells are grey; points outside the extent are skipped.
Image heatmap(const torch::Tensor& values, std::array<double, 4> extent, const std::string& title = "",
              const torch::Tensor& points = {}, const HeatmapOptions& options = {});

/// Size and dot style of a scatter plot.
struct ScatterOptions {
  TORCH_ARG(int, width) = 400;
  TORCH_ARG(int, height) = 400;
  TORCH_ARG(double, point_radius) = 2.0;
  TORCH_ARG(Color, color) = Color{31, 119, 180};
  /// Opacity of each dot, so that dense regions read darker.
  TORCH_ARG(double, alpha) = 0.6;
};

/// Scatter plot of points [n,2] within extent.
/// White background with a grey frame; points outside the extent (or NaN) are skipped.
Image scatter(const torch::Tensor& points, std::array<double, 4> extent, const std::string& title = "",
              const ScatterOptions& options = {});

/// One named curve of a line chart.
struct Series {
  std::string name;
  std::vector<double> x, y;
};

/// Line chart: several named series (x, y vectors), axes with tick labels (stb_easy_font text), legend, optional log-y; NaN points skipped.
/// A skipped point (NaN, infinite, or y <= 0 on a log axis) breaks the line; an isolated point is
/// drawn as a dot. Series take series_color(i) in order.
/// `legend_outside` puts the legend to the right of the plot area (narrowing it) instead of over its corner.
Image line_chart(const std::vector<Series>& series, const std::string& title, const std::string& x_label,
                 const std::string& y_label, bool log_y = false, int width = 800, int height = 500,
                 bool legend_outside = false);

/// Places images side by side in a grid (for panels of heat maps).
/// Row-major, `columns` per row; every cell is as large as the largest image, images at the cells'
/// top-left corners on a white background.
Image tile(const std::vector<Image>& images, int columns);

/// Images [N, C, H, W] (C = 1 grey or 3 RGB, values in [lo, hi], clamped) as a grid `columns` wide,
/// each pixel drawn `scale` × `scale`, one-pixel white gaps, an optional title above: sample grids.
Image image_grid(const torch::Tensor& images, int columns, double lo = 0.0, double hi = 1.0, int scale = 2,
                 const std::string& title = "");

}  // namespace jeffreys::plot
