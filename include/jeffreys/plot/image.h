#pragma once
/// A small RGB raster with the drawing primitives the charts need (rectangles, lines, dots, text in
/// stb_easy_font's bitmap font), so that runs can write figures without an external plot library.
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace jeffreys::plot {

/// An 8-bit RGB colour.
using Color = std::array<uint8_t, 3>;

/// An RGB image buffer: 8 bits per channel, row-major, row 0 at the top (as PNG stores it).
class Image {
 public:
  /// A `width` × `height` image filled with `background`; throws std::invalid_argument below 1 × 1.
  Image(int width, int height, Color background = {255, 255, 255});
  /// Size in pixels.
  int width() const { return width_; }
  int height() const { return height_; }
  /// Sets one pixel; pixels outside the image are ignored, so drawing code clips for free.
  void set(int x, int y, Color c);
  /// Mixes `c` into one pixel with opacity `alpha` in [0, 1]; ignored outside the image.
  void blend(int x, int y, Color c, double alpha);
  /// One pixel; throws std::out_of_range outside the image.
  Color get(int x, int y) const;
  /// width * height * 3 bytes, RGB, rows top to bottom.
  const uint8_t* data() const { return pixels_.data(); }

  /// Fills [x0, x1) × [y0, y1), clipped to the image.
  void fill_rect(int x0, int y0, int x1, int y1, Color c);
  /// Outline of [x0, x1) × [y0, y1), one pixel wide.
  void draw_rect(int x0, int y0, int x1, int y1, Color c);
  /// A straight line between pixel centres, `thickness` pixels wide (square pen).
  void draw_line(double x0, double y0, double x1, double y1, Color c, int thickness = 1);
  /// A filled disc centred at (cx, cy) with a one-pixel outline (pass fill == outline for a plain dot).
  void draw_dot(double cx, double cy, double radius, Color fill, Color outline);
  /// Text with its top-left corner at (x, y) in stb_easy_font's font, each font unit drawn as
  /// `scale` × `scale` pixels; '\n' starts a new line. Bytes outside printable ASCII show as '?'.
  void draw_text(int x, int y, const std::string& text, Color c, int scale = 2);
  /// Text turned 90° counter-clockwise (reading upwards), its bounding box's top-left at (x, y):
  /// for y-axis labels.
  void draw_text_vertical(int x, int y, const std::string& text, Color c, int scale = 2);
  /// Copies `src` with its top-left corner at (x, y), clipped to this image.
  void blit(const Image& src, int x, int y);

 private:
  int width_, height_;
  std::vector<uint8_t> pixels_;
};

/// {width, height} in pixels of `text` as draw_text draws it at `scale`.
std::pair<int, int> text_size(const std::string& text, int scale = 2);

}  // namespace jeffreys::plot
