#include "plot/png_reader.h"

#include <stdexcept>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

namespace jtest {

Png read_png(const std::string& path) {
  int w = 0, h = 0, channels = 0;
  // stbi_info first: it checks the signature, so a non-PNG file fails here rather than decoding.
  if (!stbi_info(path.c_str(), &w, &h, &channels))
    throw std::runtime_error("read_png: '" + path + "' is not a readable image: " + stbi_failure_reason());
  unsigned char* data = stbi_load(path.c_str(), &w, &h, &channels, 3);
  if (!data) throw std::runtime_error("read_png: cannot decode '" + path + "': " + stbi_failure_reason());
  Png png;
  png.width = w;
  png.height = h;
  png.rgb.assign(data, data + static_cast<size_t>(w) * h * 3);
  stbi_image_free(data);
  return png;
}

}  // namespace jtest
