#include "jeffreys/plot/colormap.h"

#include <algorithm>
#include <cmath>

namespace jeffreys::plot {

namespace {

/// matplotlib's _viridis_data, entries 0, 8, ..., 248 and 255, rounded to 8 bits.
constexpr Color kViridis[] = {
    {68, 1, 84},     {71, 13, 96},    {72, 24, 106},   {72, 35, 116},   {71, 45, 123},   {69, 55, 129},
    {66, 64, 134},   {62, 73, 137},   {59, 82, 139},   {55, 91, 141},   {51, 99, 141},   {47, 107, 142},
    {44, 114, 142},  {41, 122, 142},  {38, 130, 142},  {35, 137, 142},  {33, 145, 140},  {31, 152, 139},
    {31, 160, 136},  {34, 167, 133},  {40, 174, 128},  {50, 182, 122},  {63, 188, 115},  {78, 195, 107},
    {94, 201, 98},   {112, 207, 87},  {132, 212, 75},  {152, 216, 62},  {173, 220, 48},  {194, 223, 35},
    {216, 226, 25},  {236, 229, 27},  {253, 231, 37}};
constexpr int kViridisAnchors = sizeof(kViridis) / sizeof(kViridis[0]);

/// matplotlib's tab10.
constexpr Color kTab10[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},   {148, 103, 189},
                            {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

}  // namespace

Color viridis(double t) {
  if (!(t > 0)) return kViridis[0];  // also NaN
  if (t >= 1) return kViridis[kViridisAnchors - 1];
  // The anchors sit at table indices 0, 8, ..., 248, 255: place t on that index scale.
  const double index = t * 255.0;
  int k = std::min(static_cast<int>(index / 8.0), kViridisAnchors - 2);
  const double lo = 8.0 * k, hi = (k + 1 == kViridisAnchors - 1) ? 255.0 : 8.0 * (k + 1);
  const double f = std::clamp((index - lo) / (hi - lo), 0.0, 1.0);
  Color c;
  for (int ch = 0; ch < 3; ++ch)
    c[ch] = static_cast<uint8_t>(std::lround(kViridis[k][ch] * (1 - f) + kViridis[k + 1][ch] * f));
  return c;
}

Color series_color(std::size_t i) { return kTab10[i % 10]; }

}  // namespace jeffreys::plot
