#pragma once
/// PNG output (stb_image_write, compiled into the library; callers need no stb headers).
#include <cstdint>
#include <string>
#include <vector>

#include "jeffreys/plot/image.h"

namespace jeffreys::plot {

/// The PNG file's bytes for `image` (8-bit RGB).
std::vector<uint8_t> encode_png(const Image& image);

/// Writes a PNG atomically (temp file in the same folder, then rename); throws std::runtime_error naming the path on failure.
/// A reader never sees a half-written figure, and an existing file is replaced only once the new
/// one is complete.
void save_png(const Image& image, const std::string& path);

}  // namespace jeffreys::plot
