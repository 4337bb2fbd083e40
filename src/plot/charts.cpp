#include "jeffreys/plot/charts.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace jeffreys::plot {

namespace {

constexpr Color kBlack = {0, 0, 0};
constexpr Color kWhite = {255, 255, 255};
constexpr Color kFrame = {150, 150, 150};
constexpr Color kGridLine = {230, 230, 230};
constexpr int kTextScale = 2;

void check_extent(const std::array<double, 4>& e, const char* who) {
  TORCH_CHECK(std::isfinite(e[0]) && std::isfinite(e[1]) && e[1] > e[0] && std::isfinite(e[2]) &&
                  std::isfinite(e[3]) && e[3] > e[2],
              who, ": extent must be finite {xmin, xmax, ymin, ymax} with xmin < xmax and ymin < ymax, got {", e[0],
              ", ", e[1], ", ", e[2], ", ", e[3], "}");
}

/// Draws `title` centred in a band at the top of `image` and returns the band's height (0 without a
/// title). Text too wide at the normal scale is drawn at half size.
int draw_title(Image& image, const std::string& title) {
  if (title.empty()) return 0;
  int scale = kTextScale;
  auto [w, h] = text_size(title, scale);
  if (w > image.width() - 8) {
    scale = 1;
    std::tie(w, h) = text_size(title, scale);
  }
  image.draw_text(std::max(4, (image.width() - w) / 2), 6, title, kBlack, scale);
  return h + 8;
}

/// Points [n, 2] as float64 on the CPU, or undefined.
torch::Tensor cpu_points(const torch::Tensor& points, const char* who) {
  if (!points.defined() || points.numel() == 0) return {};
  TORCH_CHECK(points.dim() == 2 && points.size(1) == 2, who, ": points must be [n, 2], got ", points.sizes());
  return points.detach().to(torch::kCPU, torch::kDouble).contiguous();
}

/// Maps data coordinates to continuous pixel coordinates of the panel area [0, w) × [top, top + h).
struct Frame {
  std::array<double, 4> extent;
  int top, w, h;
  bool inside(double x, double y) const {
    return x >= extent[0] && x <= extent[1] && y >= extent[2] && y <= extent[3];
  }
  // -0.5: pixel k covers [k, k + 1), so its centre, the coordinate drawing uses, is k + 0.5.
  double px(double x) const { return (x - extent[0]) / (extent[1] - extent[0]) * w - 0.5; }
  double py(double y) const { return top + (extent[3] - y) / (extent[3] - extent[2]) * h - 0.5; }
};

/// "Nice" tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi], about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target) {
  const double raw = (hi - lo) / std::max(target, 1);
  if (!(raw > 0) || !std::isfinite(raw)) return {lo};
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 5.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> ticks;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step; k += 1) {
    double v = k * step;
    if (std::abs(v) < 1e-9 * step) v = 0;  // print 0, not 1e-17
    ticks.push_back(v);
  }
  return ticks;
}

std::string format_tick(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

Image heatmap(const torch::Tensor& values, std::array<double, 4> extent, const std::string& title,
              const torch::Tensor& points, const HeatmapOptions& options) {
  TORCH_CHECK(values.defined() && values.dim() == 2 && values.numel() > 0, "heatmap: values must be [ny, nx], got ",
              values.defined() ? values.sizes() : torch::IntArrayRef{});
  check_extent(extent, "heatmap");
  Image image(options.width(), options.height());
  const int band = draw_title(image, title);
  TORCH_CHECK(image.height() - band >= 1, "heatmap: height ", options.height(), " leaves no room below the title");
  const Frame frame{extent, band, image.width(), image.height() - band};

  const auto v = values.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const int64_t ny = v.size(0), nx = v.size(1);
  const double* data = v.data_ptr<double>();
  const double inf = std::numeric_limits<double>::infinity();
  // Colour coordinate per cell: the value, or its log; -inf (a value <= 0 on a log scale) is the low end.
  std::vector<double> c(static_cast<size_t>(ny * nx));
  double cmin = inf, cmax = -inf;
  for (int64_t i = 0; i < ny * nx; ++i) {
    const double x = data[i];
    c[i] = options.log_scale() ? (x > 0 ? std::log(x) : (std::isnan(x) ? x : -inf)) : x;
    if (std::isfinite(c[i])) cmin = std::min(cmin, c[i]), cmax = std::max(cmax, c[i]);
  }
  auto user = [&](double u) { return options.log_scale() ? (u > 0 ? std::log(u) : -inf) : u; };
  double lo = std::isnan(options.vmin()) ? cmin : user(options.vmin());
  double hi = std::isnan(options.vmax()) ? cmax : user(options.vmax());
  if (options.log_scale() && std::isnan(options.vmin()) && std::isfinite(hi))
    lo = std::max(lo, hi + std::log(options.log_floor()));
  std::vector<Color> cell(c.size());
  for (size_t i = 0; i < c.size(); ++i) {
    if (std::isnan(c[i]))
      cell[i] = kMissingColor;
    else if (!(hi > lo))  // constant field, or no finite value at all
      cell[i] = viridis(std::isfinite(hi) && c[i] >= hi ? 0.5 : 0.0);
    else
      cell[i] = viridis((c[i] - lo) / (hi - lo));
  }
  for (int py = 0; py < frame.h; ++py) {
    // Row 0 of `values` is the bottom of the map.
    const int64_t iy = ny - 1 - std::min<int64_t>(ny - 1, static_cast<int64_t>(py) * ny / frame.h);
    for (int px = 0; px < frame.w; ++px) {
      const int64_t ix = std::min<int64_t>(nx - 1, static_cast<int64_t>(px) * nx / frame.w);
      image.set(px, band + py, cell[iy * nx + ix]);
    }
  }
  if (auto p = cpu_points(points, "heatmap"); p.defined()) {
    auto a = p.accessor<double, 2>();
    for (int64_t i = 0; i < p.size(0); ++i)
      if (frame.inside(a[i][0], a[i][1]))
        image.draw_dot(frame.px(a[i][0]), frame.py(a[i][1]), options.point_radius(), kWhite, kBlack);
  }
  return image;
}

Image scatter(const torch::Tensor& points, std::array<double, 4> extent, const std::string& title,
              const ScatterOptions& options) {
  check_extent(extent, "scatter");
  Image image(options.width(), options.height());
  const int band = draw_title(image, title);
  TORCH_CHECK(image.height() - band >= 1, "scatter: height ", options.height(), " leaves no room below the title");
  const Frame frame{extent, band, image.width(), image.height() - band};
  if (auto p = cpu_points(points, "scatter"); p.defined()) {
    auto a = p.accessor<double, 2>();
    const double r = options.point_radius();
    for (int64_t i = 0; i < p.size(0); ++i) {
      if (!frame.inside(a[i][0], a[i][1])) continue;  // NaN fails the comparison too
      const double cx = frame.px(a[i][0]), cy = frame.py(a[i][1]);
      for (int y = static_cast<int>(std::floor(cy - r)); y <= static_cast<int>(std::ceil(cy + r)); ++y)
        for (int x = static_cast<int>(std::floor(cx - r)); x <= static_cast<int>(std::ceil(cx + r)); ++x)
          if (std::hypot(x - cx, y - cy) <= r && y >= band) image.blend(x, y, options.color(), options.alpha());
    }
  }
  image.draw_rect(0, band, frame.w, image.height(), kFrame);
  return image;
}

Image line_chart(const std::vector<Series>& series, const std::string& title, const std::string& x_label,
                 const std::string& y_label, bool log_y, int width, int height, bool legend_outside) {
  Image image(width, height);
  const int band = draw_title(image, title);
  auto valid = [log_y](double x, double y) { return std::isfinite(x) && std::isfinite(y) && (!log_y || y > 0); };
  auto ty = [log_y](double y) { return log_y ? std::log10(y) : y; };

  // Data ranges over the points that will be drawn (y in axis units: log10 on a log axis).
  const double inf = std::numeric_limits<double>::infinity();
  double x0 = inf, x1 = -inf, y0 = inf, y1 = -inf;
  for (const auto& s : series) {
    TORCH_CHECK(s.x.size() == s.y.size(), "line_chart: series '", s.name, "' has ", s.x.size(), " x values and ",
                s.y.size(), " y values");
    for (size_t i = 0; i < s.x.size(); ++i)
      if (valid(s.x[i], s.y[i])) {
        x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
        y0 = std::min(y0, ty(s.y[i])), y1 = std::max(y1, ty(s.y[i]));
      }
  }
  if (!(x1 >= x0)) x0 = 0, x1 = 1;  // no data: an empty frame
  if (!(y1 >= y0)) y0 = 0, y1 = 1;
  if (x1 == x0) x0 -= 0.5, x1 += 0.5;
  if (y1 == y0) {
    const double d = log_y ? 0.5 : (y0 != 0 ? 0.05 * std::abs(y0) : 0.5);
    y0 -= d, y1 += d;
  }
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad, y1 += pad;

  // Ticks in axis units, with their labels.
  std::vector<double> yt;
  std::vector<std::string> yl;
  if (log_y && y1 - y0 > 3) {
    // Many decades: powers of ten, every `step`-th one.
    const double step = std::max(1.0, std::ceil((y1 - y0) / 6));
    for (double k = std::ceil(y0 / step) * step; k <= y1; k += step) {
      yt.push_back(k);
      yl.push_back(format_tick(std::pow(10.0, k)));
    }
  } else if (log_y && y1 - y0 >= 1) {
    // One to three decades: 1, 2 and 5 times each power of ten.
    for (double k = std::floor(y0); k <= std::ceil(y1); k += 1)
      for (double m : {1.0, 2.0, 5.0}) {
        const double t = k + std::log10(m);
        if (t >= y0 && t <= y1) yt.push_back(t), yl.push_back(format_tick(m * std::pow(10.0, k)));
      }
  } else if (log_y) {
    // Less than a decade: linear ticks on the values, placed on the log axis.
    for (double v : nice_ticks(std::pow(10.0, y0), std::pow(10.0, y1), 5))
      if (v > 0) yt.push_back(std::log10(v)), yl.push_back(format_tick(v));
  } else {
    for (double v : nice_ticks(y0, y1, 6)) yt.push_back(v), yl.push_back(format_tick(v));
  }
  int tick_w = 0;
  for (const auto& l : yl) tick_w = std::max(tick_w, text_size(l, kTextScale).first);
  const int text_h = text_size("0", kTextScale).second;

  const int left = (y_label.empty() ? 8 : 8 + text_h + 6) + tick_w + 8;
  // The legend's size, to reserve room for it beside the plot area when asked.
  std::vector<size_t> named;
  int name_w = 0;
  for (size_t si = 0; si < series.size(); ++si)
    if (!series[si].name.empty()) {
      named.push_back(si);
      name_w = std::max(name_w, text_size(series[si].name, kTextScale).first);
    }
  const int legend_w = named.empty() ? 0 : 8 + 24 + 8 + name_w + 8;
  const int right = width - 20 - (legend_outside && legend_w > 0 ? legend_w + 4 : 0);
  const int top = band + 12;
  const int bottom = height - (x_label.empty() ? 8 : 8 + text_h) - text_h - 8;
  TORCH_CHECK(right - left >= 10 && bottom - top >= 10, "line_chart: ", width, " x ", height,
              " is too small for the axes and labels");
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (right - left); };
  auto py = [&](double y) { return bottom - (y - y0) / (y1 - y0) * (bottom - top); };

  // Grid lines and tick labels.
  for (size_t k = 0; k < yt.size(); ++k) {
    const int y = static_cast<int>(std::lround(py(yt[k])));
    image.fill_rect(left, y, right, y + 1, kGridLine);
    const auto [w, h] = text_size(yl[k], kTextScale);
    image.draw_text(left - 6 - w, y - h / 3, yl[k], kBlack, kTextScale);
  }
  for (double v : nice_ticks(x0, x1, 8)) {
    const int x = static_cast<int>(std::lround(px(v)));
    image.fill_rect(x, top, x + 1, bottom, kGridLine);
    const auto label = format_tick(v);
    const int w = text_size(label, kTextScale).first;
    image.draw_text(x - w / 2, bottom + 6, label, kBlack, kTextScale);
  }
  image.draw_rect(left, top, right + 1, bottom + 1, kBlack);
  if (!x_label.empty()) {
    const int w = text_size(x_label, kTextScale).first;
    image.draw_text(left + (right - left - w) / 2, height - 8 - text_h + 2, x_label, kBlack, kTextScale);
  }
  if (!y_label.empty()) {
    const int w = text_size(y_label, kTextScale).first;
    image.draw_text_vertical(8, top + std::max(0, (bottom - top - w) / 2), y_label, kBlack, kTextScale);
  }

  // Curves: a skipped point breaks the line; a point with no valid neighbour becomes a dot.
  for (size_t si = 0; si < series.size(); ++si) {
    const auto& s = series[si];
    const Color c = series_color(si);
    const size_t n = s.x.size();
    for (size_t i = 0; i < n; ++i) {
      if (!valid(s.x[i], s.y[i])) continue;
      const double cx = px(s.x[i]), cy = py(ty(s.y[i]));
      const bool prev = i > 0 && valid(s.x[i - 1], s.y[i - 1]);
      const bool next = i + 1 < n && valid(s.x[i + 1], s.y[i + 1]);
      if (prev) image.draw_line(px(s.x[i - 1]), py(ty(s.y[i - 1])), cx, cy, c, 2);
      if (!prev && !next) image.draw_dot(cx, cy, 2.5, c, c);
    }
  }

  // Legend in the top-right corner of the plot area, or to its right.
  if (!named.empty()) {
    const int row_h = text_h + 2, swatch = 24;
    const int box_w = legend_w, box_h = 6 + row_h * static_cast<int>(named.size()) + 2;
    const int bx = legend_outside ? right + 12 : right - 8 - box_w, by = top + (legend_outside ? 0 : 8);
    image.fill_rect(bx, by, bx + box_w, by + box_h, kWhite);
    image.draw_rect(bx, by, bx + box_w, by + box_h, kFrame);
    for (size_t k = 0; k < named.size(); ++k) {
      const int ry = by + 6 + row_h * static_cast<int>(k);
      const Color c = series_color(named[k]);
      image.fill_rect(bx + 8, ry + text_h / 3, bx + 8 + swatch, ry + text_h / 3 + 3, c);
      image.draw_text(bx + 8 + swatch + 8, ry, series[named[k]].name, kBlack, kTextScale);
    }
  }
  return image;
}

Image tile(const std::vector<Image>& images, int columns) {
  TORCH_CHECK(!images.empty(), "tile: no images");
  TORCH_CHECK(columns >= 1, "tile: columns must be >= 1, got ", columns);
  const int n = static_cast<int>(images.size());
  const int cols = std::min(columns, n), rows = (n + columns - 1) / columns;
  int cw = 0, ch = 0;
  for (const auto& im : images) cw = std::max(cw, im.width()), ch = std::max(ch, im.height());
  Image out(cols * cw, rows * ch);
  for (int i = 0; i < n; ++i) out.blit(images[i], (i % columns) * cw, (i / columns) * ch);
  return out;
}

Image image_grid(const torch::Tensor& images, int columns, double lo, double hi, int scale, const std::string& title) {
  TORCH_CHECK(images.dim() == 4 && images.size(0) >= 1 && (images.size(1) == 1 || images.size(1) == 3),
              "image_grid: expected images [N, 1 or 3, H, W], got ", images.sizes());
  TORCH_CHECK(columns >= 1 && scale >= 1 && hi > lo, "image_grid: columns, scale >= 1 and hi > lo required");
  // One conversion to bytes up front: the loops below then read a plain array.
  auto px = ((images.detach().to(torch::kDouble).cpu() - lo) / (hi - lo) * 255.0).round().clamp(0, 255).to(torch::kUInt8);
  px = px.expand({px.size(0), 3, px.size(2), px.size(3)}).contiguous();
  const int n = static_cast<int>(px.size(0)), h = static_cast<int>(px.size(2)), w = static_cast<int>(px.size(3));
  const int cols = std::min(columns, n), rows = (n + columns - 1) / columns;
  const int cell_w = w * scale + 1, cell_h = h * scale + 1;
  int top = 0;
  if (!title.empty()) {
    Image probe(std::max(1, cols * cell_w + 1), 1);
    top = draw_title(probe, title);
  }
  Image out(cols * cell_w + 1, rows * cell_h + 1 + top);
  draw_title(out, title);
  const auto* p = px.data_ptr<uint8_t>();
  for (int i = 0; i < n; ++i) {
    const int x0 = (i % columns) * cell_w + 1, y0 = (i / columns) * cell_h + 1 + top;
    const uint8_t* img = p + static_cast<size_t>(i) * 3 * h * w;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const size_t o = static_cast<size_t>(y) * w + x, plane = static_cast<size_t>(h) * w;
        out.fill_rect(x0 + x * scale, y0 + y * scale, x0 + (x + 1) * scale, y0 + (y + 1) * scale,
                      {img[o], img[plane + o], img[2 * plane + o]});
      }
  }
  return out;
}

}  // namespace jeffreys::plot
