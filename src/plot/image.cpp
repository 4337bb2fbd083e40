#include "jeffreys/plot/image.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

// stb_easy_font is all static functions; silence the warnings its C code raises in a C++ build.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop

namespace jeffreys::plot {

namespace {

/// stb_easy_font indexes its glyph table with (char - 32): anything outside 32..126 would read
/// out of bounds, so each byte outside it (a UTF-8 "θ" is two) becomes '?'; newlines stay.
std::string printable(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char ch : text) {
    if (ch == '\n' || (ch >= 32 && ch <= 126))
      out.push_back(static_cast<char>(ch));
    else if (ch < 0x80 || ch >= 0xC0)  // skip UTF-8 continuation bytes: one '?' per character
      out.push_back('?');
  }
  return out;
}

}  // namespace

Image::Image(int width, int height, Color background) : width_(width), height_(height) {
  if (width < 1 || height < 1)
    throw std::invalid_argument("plot::Image: width and height must be >= 1, got " + std::to_string(width) + " x " +
                                std::to_string(height));
  pixels_.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
  for (size_t i = 0; i < pixels_.size(); i += 3) std::copy(background.begin(), background.end(), pixels_.begin() + i);
}

void Image::set(int x, int y, Color c) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  std::copy(c.begin(), c.end(), pixels_.begin() + (static_cast<size_t>(y) * width_ + x) * 3);
}

void Image::blend(int x, int y, Color c, double alpha) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  alpha = std::clamp(alpha, 0.0, 1.0);
  uint8_t* p = pixels_.data() + (static_cast<size_t>(y) * width_ + x) * 3;
  for (int k = 0; k < 3; ++k) p[k] = static_cast<uint8_t>(std::lround(p[k] * (1 - alpha) + c[k] * alpha));
}

Color Image::get(int x, int y) const {
  if (x < 0 || y < 0 || x >= width_ || y >= height_)
    throw std::out_of_range("plot::Image::get: (" + std::to_string(x) + ", " + std::to_string(y) + ") outside " +
                            std::to_string(width_) + " x " + std::to_string(height_));
  const uint8_t* p = pixels_.data() + (static_cast<size_t>(y) * width_ + x) * 3;
  return {p[0], p[1], p[2]};
}

void Image::fill_rect(int x0, int y0, int x1, int y1, Color c) {
  x0 = std::max(x0, 0), y0 = std::max(y0, 0), x1 = std::min(x1, width_), y1 = std::min(y1, height_);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) set(x, y, c);
}

void Image::draw_rect(int x0, int y0, int x1, int y1, Color c) {
  fill_rect(x0, y0, x1, y0 + 1, c);
  fill_rect(x0, y1 - 1, x1, y1, c);
  fill_rect(x0, y0, x0 + 1, y1, c);
  fill_rect(x1 - 1, y0, x1, y1, c);
}

void Image::draw_line(double x0, double y0, double x1, double y1, Color c, int thickness) {
  if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1)) return;
  // Clamp far-off coordinates (a log axis can map a point thousands of pixels away) so the step
  // count stays bounded; the part inside the image is unchanged up to that clamp's direction error.
  const double lim = 4.0 * std::max(width_, height_);
  auto clampd = [lim](double v) { return std::clamp(v, -lim, lim); };
  x0 = clampd(x0), y0 = clampd(y0), x1 = clampd(x1), y1 = clampd(y1);
  const int steps = static_cast<int>(std::ceil(std::max(std::abs(x1 - x0), std::abs(y1 - y0)))) + 1;
  const int lo = -(thickness - 1) / 2, hi = thickness / 2;
  for (int i = 0; i <= steps; ++i) {
    const double t = static_cast<double>(i) / steps;
    const int px = static_cast<int>(std::lround(x0 + t * (x1 - x0)));
    const int py = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
    for (int dy = lo; dy <= hi; ++dy)
      for (int dx = lo; dx <= hi; ++dx) set(px + dx, py + dy, c);
  }
}

void Image::draw_dot(double cx, double cy, double radius, Color fill, Color outline) {
  if (!std::isfinite(cx) || !std::isfinite(cy)) return;
  const double outer = radius + 1.0;
  const int x0 = static_cast<int>(std::floor(cx - outer)), x1 = static_cast<int>(std::ceil(cx + outer));
  const int y0 = static_cast<int>(std::floor(cy - outer)), y1 = static_cast<int>(std::ceil(cy + outer));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      const double r = std::hypot(x - cx, y - cy);
      if (r <= radius)
        set(x, y, fill);
      else if (r <= outer)
        set(x, y, outline);
    }
}

void Image::draw_text(int x, int y, const std::string& text, Color c, int scale) {
  std::string s = printable(text);
  if (s.empty()) return;
  scale = std::max(scale, 1);
  // Each quad is 4 vertices of {float x, y, z; uint8 rgba[4]} = 64 bytes; the header expects about
  // 270 bytes per character, so 8 quads per character is ample.
  std::vector<char> buffer(s.size() * 8 * 64 + 64);
  const int quads = stb_easy_font_print(0, 0, s.data(), nullptr, buffer.data(), static_cast<int>(buffer.size()));
  for (int q = 0; q < quads; ++q) {
    // The quads are axis-aligned: vertex 0 is the top-left corner and vertex 2 the bottom-right.
    float v0[2], v2[2];
    std::memcpy(v0, buffer.data() + q * 64, sizeof v0);
    std::memcpy(v2, buffer.data() + q * 64 + 32, sizeof v2);
    fill_rect(x + static_cast<int>(std::lround(v0[0] * scale)), y + static_cast<int>(std::lround(v0[1] * scale)),
              x + static_cast<int>(std::lround(v2[0] * scale)), y + static_cast<int>(std::lround(v2[1] * scale)), c);
  }
}

void Image::draw_text_vertical(int x, int y, const std::string& text, Color c, int scale) {
  const auto [w, h] = text_size(text, scale);
  if (w == 0) return;
  // Draw horizontally on a scratch mask (white on black), then copy it rotated.
  Image scratch(w, h, {0, 0, 0});
  scratch.draw_text(0, 0, text, {255, 255, 255}, scale);
  for (int sy = 0; sy < h; ++sy)
    for (int sx = 0; sx < w; ++sx)
      if (scratch.get(sx, sy)[0] != 0) set(x + sy, y + (w - 1 - sx), c);
}

void Image::blit(const Image& src, int x, int y) {
  for (int sy = 0; sy < src.height(); ++sy)
    for (int sx = 0; sx < src.width(); ++sx) set(x + sx, y + sy, src.get(sx, sy));
}

std::pair<int, int> text_size(const std::string& text, int scale) {
  std::string s = printable(text);
  if (s.empty()) return {0, 0};
  scale = std::max(scale, 1);
  return {stb_easy_font_width(s.data()) * scale, stb_easy_font_height(s.data()) * scale};
}

}  // namespace jeffreys::plot
