// The raster primitives and colour scales.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "jeffreys/plot/colormap.h"
#include "jeffreys/plot/image.h"

namespace pl = jeffreys::plot;

namespace {

int count_color(const pl::Image& im, pl::Color c) {
  int n = 0;
  for (int y = 0; y < im.height(); ++y)
    for (int x = 0; x < im.width(); ++x) n += im.get(x, y) == c;
  return n;
}

}  // namespace

TEST(PlotImage, SetGetAndClipping) {
  pl::Image im(5, 3, {10, 20, 30});
  EXPECT_EQ(im.width(), 5);
  EXPECT_EQ(im.height(), 3);
  EXPECT_EQ(im.get(4, 2), (pl::Color{10, 20, 30}));
  im.set(4, 2, {1, 2, 3});
  EXPECT_EQ(im.get(4, 2), (pl::Color{1, 2, 3}));
  EXPECT_EQ(im.data()[(2 * 5 + 4) * 3 + 1], 2);  // row-major RGB, row 0 at the top
  im.set(-1, 0, {0, 0, 0});  // ignored
  im.set(5, 0, {0, 0, 0});
  im.fill_rect(-10, -10, 100, 100, {7, 7, 7});
  EXPECT_EQ(count_color(im, {7, 7, 7}), 15);
  EXPECT_THROW(im.get(5, 0), std::out_of_range);
  EXPECT_THROW(pl::Image(0, 4), std::invalid_argument);
  im.blend(0, 0, {255, 255, 255}, 0.5);
  EXPECT_EQ(im.get(0, 0), (pl::Color{131, 131, 131}));
}

TEST(PlotImage, LinesDotsAndText) {
  pl::Image im(60, 40);
  im.draw_line(0, 0, 59, 39, {255, 0, 0});
  EXPECT_EQ(im.get(0, 0), (pl::Color{255, 0, 0}));
  EXPECT_EQ(im.get(59, 39), (pl::Color{255, 0, 0}));
  im.draw_dot(30, 10, 3, {0, 255, 0}, {0, 0, 255});
  EXPECT_EQ(im.get(30, 10), (pl::Color{0, 255, 0}));
  EXPECT_EQ(im.get(34, 10), (pl::Color{0, 0, 255}));
  // Non-finite coordinates draw nothing rather than looping or crashing.
  im.draw_line(0, 0, std::numeric_limits<double>::quiet_NaN(), 5, {1, 1, 1});
  EXPECT_EQ(count_color(im, {1, 1, 1}), 0);

  pl::Image t(200, 40);
  t.draw_text(2, 2, "Hi 0.5", {0, 0, 0}, 2);
  const int dark = count_color(t, {0, 0, 0});
  EXPECT_GT(dark, 40);
  const auto [w, h] = pl::text_size("Hi 0.5", 2);
  EXPECT_EQ(h, 24);
  EXPECT_GT(w, 40);
  // Everything drawn lies inside the reported box.
  for (int y = 0; y < t.height(); ++y)
    for (int x = 0; x < t.width(); ++x)
      if (t.get(x, y) == pl::Color{0, 0, 0}) {
        EXPECT_LT(x, 2 + w);
        EXPECT_LT(y, 2 + h);
      }
  // Non-ASCII (UTF-8 θ) is drawn as '?' instead of reading outside the font table.
  EXPECT_EQ(pl::text_size("\xCE\xB8", 2), pl::text_size("?", 2));
  // Vertical text has the same pixels, turned.
  pl::Image v(40, 200);
  v.draw_text_vertical(2, 2, "Hi 0.5", {0, 0, 0}, 2);
  EXPECT_EQ(count_color(v, {0, 0, 0}), dark);
}

TEST(PlotImage, ViridisEndsAndSeriesColours) {
  EXPECT_EQ(pl::viridis(0.0), (pl::Color{68, 1, 84}));
  EXPECT_EQ(pl::viridis(1.0), (pl::Color{253, 231, 37}));
  EXPECT_EQ(pl::viridis(-3.0), pl::viridis(0.0));
  EXPECT_EQ(pl::viridis(7.0), pl::viridis(1.0));
  EXPECT_EQ(pl::viridis(std::numeric_limits<double>::quiet_NaN()), pl::viridis(0.0));
  // matplotlib's entry 128 is (0.127568, 0.566949, 0.550556).
  const auto mid = pl::viridis(128.0 / 255.0);
  EXPECT_NEAR(mid[0], 33, 2);
  EXPECT_NEAR(mid[1], 145, 2);
  EXPECT_NEAR(mid[2], 140, 2);
  for (size_t i = 0; i < 10; ++i)
    for (size_t j = 0; j < i; ++j) EXPECT_NE(pl::series_color(i), pl::series_color(j));
  EXPECT_EQ(pl::series_color(10), pl::series_color(0));
}
