#include "plot/png_reader.h"

#include <cmath>
#include <stdexcept>

#include "jeffreys/data/images.h"

namespace jtest {

Png read_png(const std::string& path) {
  jeffreys::data::ImageSet set;
  try {
    set = jeffreys::data::read_png(path);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("read_png: ") + e.what());
  }
  // The library reads k/255 for byte k, exactly invertible; grey files come back as equal R, G, B.
  auto x = (set.images[0] * 255.0).round().to(torch::kUInt8).expand({3, -1, -1}).permute({1, 2, 0}).contiguous();
  Png png;
  png.height = static_cast<int>(x.size(0));
  png.width = static_cast<int>(x.size(1));
  png.rgb.assign(x.data_ptr<uint8_t>(), x.data_ptr<uint8_t>() + x.numel());
  return png;
}

}  // namespace jtest
