#include "jeffreys/plot/png.h"

#include "jeffreys/core/atomic_file.h"

#include <stdexcept>

// The one stb_image_write implementation in the library; static, so that a program that also links
// stb (or another library embedding it) gets no duplicate symbols.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace jeffreys::plot {

namespace {

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}

}  // namespace

std::vector<uint8_t> encode_png(const Image& image) {
  std::vector<uint8_t> out;
  const int ok = stbi_write_png_to_func(append_bytes, &out, image.width(), image.height(), 3, image.data(),
                                        image.width() * 3);
  if (!ok) throw std::runtime_error("encode_png: stb_image_write failed");
  return out;
}

void save_png(const Image& image, const std::string& path) {
  if (path.empty()) throw std::runtime_error("save_png: empty path");
  const auto bytes = encode_png(image);
  try {
    write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string("save_png: ") + e.what());
  }
}

}  // namespace jeffreys::plot
