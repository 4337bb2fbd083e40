#pragma once
/// Colour scales: viridis for heat maps (perceptually uniform, readable in grey and by most colour-
/// blind readers) and a qualitative palette for the series of a line chart.
#include <cstddef>

#include "jeffreys/plot/image.h"

namespace jeffreys::plot {

/// matplotlib's viridis at t in [0, 1] (clamped; NaN gives the low end): 33 of its 256 entries,
/// linearly interpolated (within 2 of the table in every channel; exact at both ends).
Color viridis(double t);

/// The i-th colour of matplotlib's "tab10" palette, cycling after ten: distinct colours per series.
Color series_color(std::size_t i);

}  // namespace jeffreys::plot
