// Heat maps, scatter plots, line charts and tiling, checked on the decoded PNG where it matters.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "jeffreys/plot/charts.h"
#include "jeffreys/plot/png.h"
#include "plot/png_reader.h"

namespace fs = std::filesystem;
namespace pl = jeffreys::plot;

namespace {

const auto kD = torch::TensorOptions().dtype(torch::kDouble);
const double kNaN = std::numeric_limits<double>::quiet_NaN();

int count_if_not(const pl::Image& im, pl::Color background) {
  int n = 0;
  for (int y = 0; y < im.height(); ++y)
    for (int x = 0; x < im.width(); ++x) n += im.get(x, y) != background;
  return n;
}

int count_color(const pl::Image& im, pl::Color c) {
  int n = 0;
  for (int y = 0; y < im.height(); ++y)
    for (int x = 0; x < im.width(); ++x) n += im.get(x, y) == c;
  return n;
}

jtest::Png save_and_read(const pl::Image& im, const std::string& name) {
  const auto path = fs::temp_directory_path() / ("jeffreys_" + name + "_" + std::to_string(::getpid()) + ".png");
  pl::save_png(im, path.string());
  auto png = jtest::read_png(path.string());
  fs::remove(path);
  return png;
}

}  // namespace

TEST(PlotCharts, HeatmapCornersMapToViridisEndsAndPointsAreWhiteDots) {
  // values[iy][ix] = ix + iy: smallest at row 0, column 0 (bottom-left), largest top-right.
  const int64_t ny = 20, nx = 30;
  auto values = torch::arange(ny, kD).unsqueeze(1) + torch::arange(nx, kD).unsqueeze(0);
  auto points = torch::tensor({{0.0, 0.0}, {100.0, 100.0}}, kD);  // the second is outside: skipped
  auto im = pl::heatmap(values, {-3, 3, -2, 2}, "", points);
  EXPECT_EQ(im.width(), 400);
  EXPECT_EQ(im.height(), 400);
  auto png = save_and_read(im, "heatmap");
  ASSERT_EQ(png.width, 400);
  ASSERT_EQ(png.height, 400);
  EXPECT_EQ(png.at(0, 399), pl::viridis(0.0));  // bottom-left
  EXPECT_EQ(png.at(399, 0), pl::viridis(1.0));  // top-right
  EXPECT_EQ(png.at(0, 0), pl::viridis(19.0 / 48.0));
  // The point at the origin is a white dot outlined in black at the panel's centre.
  EXPECT_EQ(png.at(200, 200), (pl::Color{255, 255, 255}));
  EXPECT_EQ(png.at(199, 199), (pl::Color{255, 255, 255}));
  bool outline = false;
  for (int x = 200; x < 210; ++x) outline |= png.at(x, 200) == pl::Color{0, 0, 0};
  EXPECT_TRUE(outline);
  EXPECT_EQ(count_color(im, {255, 255, 255}), count_color(pl::heatmap(values, {-3, 3, -2, 2}, "", points.narrow(0, 0, 1)), {255, 255, 255}));
}

TEST(PlotCharts, HeatmapLogScaleNaNTitleAndFixedRange) {
  // A density over 8 decades: on a log scale the middle column sits mid-colormap.
  auto values = torch::pow(10.0, torch::linspace(-8, 0, 9, kD)).unsqueeze(0).expand({4, 9}).contiguous();
  auto lin = pl::heatmap(values, {0, 9, 0, 4}, "", {}, pl::HeatmapOptions().width(90).height(40));
  auto log = pl::heatmap(values, {0, 9, 0, 4}, "", {}, pl::HeatmapOptions().width(90).height(40).log_scale(true).log_floor(1e-8));
  EXPECT_EQ(log.get(45, 20), pl::viridis(0.5));
  EXPECT_EQ(lin.get(45, 20), pl::viridis(1e-4));
  EXPECT_EQ(log.get(0, 20), pl::viridis(0.0));
  EXPECT_EQ(log.get(89, 20), pl::viridis(1.0));
  // NaN cells are grey; a fixed range clamps.
  values[0][0] = kNaN;
  auto fixed = pl::heatmap(values, {0, 9, 0, 4}, "", {}, pl::HeatmapOptions().width(90).height(40).vmin(0).vmax(0.5));
  EXPECT_EQ(fixed.get(0, 39), pl::kMissingColor);
  EXPECT_EQ(fixed.get(89, 0), pl::viridis(1.0));
  // A title takes a band at the top with dark text in it; the map fills the rest.
  auto titled = pl::heatmap(torch::zeros({3, 3}, kD), {0, 1, 0, 1}, "density");
  int dark = 0;
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < titled.width(); ++x) dark += titled.get(x, y) == pl::Color{0, 0, 0};
  EXPECT_GT(dark, 30);
  EXPECT_EQ(titled.get(0, 399), pl::viridis(0.5));  // a constant field is mid-colormap
  EXPECT_THROW(pl::heatmap(torch::zeros({3}, kD), {0, 1, 0, 1}), c10::Error);
  EXPECT_THROW(pl::heatmap(torch::zeros({3, 3}, kD), {1, 0, 0, 1}), c10::Error);
}

TEST(PlotCharts, ScatterDrawsPointsInsideTheExtent) {
  auto points = torch::tensor({{0.0, 0.0}, {-0.5, 0.5}, {5.0, 5.0}, {kNaN, 0.0}}, kD);
  auto im = pl::scatter(points, {-1, 1, -1, 1});
  EXPECT_EQ(im.width(), 400);
  // The origin is at the centre: white mixed with the default blue at opacity 0.6.
  EXPECT_EQ(im.get(200, 200), (pl::Color{121, 173, 210}));
  EXPECT_NE(im.get(100, 100), (pl::Color{255, 255, 255}));
  EXPECT_EQ(im.get(300, 300), (pl::Color{255, 255, 255}));
  auto titled = pl::scatter(points, {-1, 1, -1, 1}, "samples");
  EXPECT_GT(count_color(titled, {0, 0, 0}), 30);
  auto empty = pl::scatter(torch::zeros({0, 2}, kD), {-1, 1, -1, 1});
  auto one = pl::scatter(torch::tensor({{0.0, 0.0}}, kD), {-1, 1, -1, 1});
  EXPECT_GT(count_if_not(one, {255, 255, 255}), count_if_not(empty, {255, 255, 255}));
  EXPECT_THROW(pl::scatter(torch::zeros({3, 3}, kD), {-1, 1, -1, 1}), c10::Error);
}

TEST(PlotCharts, LineChartWithNaNAndLogAxis) {
  pl::Series a{"flow NLL", {0, 1, 2, 3, 4, 5}, {3.0, 2.5, kNaN, 2.2, 2.1, 2.05}};
  pl::Series b{"energy NLL", {0, 1, 2, 3, 4, 5}, {3.5, 2.0, 1e-3, 0.0, -1.0, 2.0}};  // <= 0: skipped on log-y
  pl::Series lone{"single", {2.5}, {1.0}};
  auto no_data = [](pl::Series s) {
    for (auto& y : s.y) y = kNaN;
    return s;
  };
  for (bool log_y : {false, true}) {
    auto im = pl::line_chart({a, b, lone}, "training", "step", "nats", log_y);
    EXPECT_EQ(im.width(), 800);
    EXPECT_EQ(im.height(), 500);
    auto png = save_and_read(im, log_y ? "chart_log" : "chart_lin");
    // Same legend, no curves: the difference is what the curves drew.
    auto legend_only = pl::line_chart({no_data(a), no_data(b), no_data(lone)}, "training", "step", "nats", log_y);
    for (int s = 0; s < 3; ++s) {
      int drawn = 0;
      for (int y = 0; y < png.height; ++y)
        for (int x = 0; x < png.width; ++x) drawn += png.at(x, y) == pl::series_color(s);
      EXPECT_GT(drawn - count_color(legend_only, pl::series_color(s)), 15) << "series " << s << ", log_y " << log_y;
    }
  }
  // No data at all, or only invalid points: an empty frame, no crash.
  auto empty = pl::line_chart({}, "", "", "", true);
  EXPECT_GT(count_if_not(empty, {255, 255, 255}), 100);
  auto invalid = pl::line_chart({{"bad", {1, 2}, {kNaN, -1}}}, "t", "x", "y", true);
  EXPECT_GT(count_if_not(invalid, {255, 255, 255}), 100);
  // A constant series and a single x value still get a range (unnamed: no legend swatch).
  EXPECT_GT(count_color(pl::line_chart({{"", {0, 1, 2}, {1, 1, 1}}}, "", "", ""), pl::series_color(0)), 200);
  EXPECT_GT(count_color(pl::line_chart({{"", {3, 3}, {1, 2}}}, "", "", ""), pl::series_color(0)), 200);
  EXPECT_THROW(pl::line_chart({{"bad", {1, 2}, {1}}}, "", "", ""), c10::Error);
}

TEST(PlotCharts, TilePlacesPanelsInRows) {
  std::vector<pl::Image> panels{pl::Image(10, 8, {255, 0, 0}), pl::Image(10, 8, {0, 255, 0}),
                                pl::Image(6, 4, {0, 0, 255})};
  auto t = pl::tile(panels, 2);
  EXPECT_EQ(t.width(), 20);
  EXPECT_EQ(t.height(), 16);
  EXPECT_EQ(t.get(0, 0), (pl::Color{255, 0, 0}));
  EXPECT_EQ(t.get(19, 7), (pl::Color{0, 255, 0}));
  EXPECT_EQ(t.get(5, 11), (pl::Color{0, 0, 255}));
  EXPECT_EQ(t.get(8, 14), (pl::Color{255, 255, 255}));   // beside the smaller panel
  EXPECT_EQ(t.get(15, 12), (pl::Color{255, 255, 255}));  // the empty cell
  EXPECT_EQ(pl::tile(panels, 5).width(), 30);  // one row of three
  EXPECT_THROW(pl::tile({}, 2), c10::Error);
  EXPECT_THROW(pl::tile(panels, 0), c10::Error);
}

TEST(ImageGrid, PlacesEveryPixelScaledWithGaps) {
  // Three 2×2 grey images in a 2-wide grid at scale 3: cell 7×7 (6 pixels + 1 gap), one-pixel border.
  auto imgs = torch::zeros({3, 1, 2, 2}, kD);
  imgs[0][0][0][0] = 1.0;   // white top-left pixel in image 0
  imgs[1][0][1][1] = 0.5;   // mid grey bottom-right pixel in image 1
  imgs[2].fill_(2.0);       // out of range: clamped to white
  auto g = pl::image_grid(imgs, 2, 0.0, 1.0, 3);
  EXPECT_EQ(g.width(), 2 * 7 + 1);
  EXPECT_EQ(g.height(), 2 * 7 + 1);
  EXPECT_EQ(g.get(0, 0), (pl::Color{255, 255, 255}));        // gap
  EXPECT_EQ(g.get(1, 1), (pl::Color{255, 255, 255}));        // image 0, pixel (0,0)
  EXPECT_EQ(g.get(3, 3), (pl::Color{255, 255, 255}));
  EXPECT_EQ(g.get(4, 1), (pl::Color{0, 0, 0}));              // image 0, pixel (1,0)
  EXPECT_EQ(g.get(8 + 3, 1 + 3), (pl::Color{128, 128, 128}));  // image 1, pixel (1,1)
  EXPECT_EQ(g.get(8, 1), (pl::Color{0, 0, 0}));
  EXPECT_EQ(g.get(1, 8), (pl::Color{255, 255, 255}));        // image 2, clamped
  EXPECT_EQ(g.get(8, 8), (pl::Color{255, 255, 255}));        // no fourth image: background
  // [-1, 1] images and RGB: -1 is black, 1 is full red.
  auto rgb = torch::full({1, 3, 1, 1}, -1.0, kD);
  rgb[0][0][0][0] = 1.0;
  auto r = pl::image_grid(rgb, 8, -1.0, 1.0, 1);
  EXPECT_EQ(r.get(1, 1), (pl::Color{255, 0, 0}));
  // A title adds a band on top without moving the cells' layout.
  auto t = pl::image_grid(imgs, 2, 0.0, 1.0, 3, "samples");
  EXPECT_GT(t.height(), g.height());
  EXPECT_EQ(t.get(4, t.height() - g.height() + 1), (pl::Color{0, 0, 0}));
  EXPECT_THROW(pl::image_grid(torch::zeros({2, 2, 4, 4}), 2), c10::Error);
}
