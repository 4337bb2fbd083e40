#pragma once
/// Reads a PNG back for the plot tests as 8-bit RGB (through the library's data::read_png).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace jtest {

struct Png {
  int width = 0, height = 0;
  /// RGB, rows top to bottom.
  std::vector<uint8_t> rgb;
  std::array<uint8_t, 3> at(int x, int y) const {
    const size_t i = (static_cast<size_t>(y) * width + x) * 3;
    return {rgb.at(i), rgb.at(i + 1), rgb.at(i + 2)};
  }
};

/// Decodes the file at `path` as 8-bit RGB; throws std::runtime_error if it is not a valid PNG.
Png read_png(const std::string& path);

}  // namespace jtest
