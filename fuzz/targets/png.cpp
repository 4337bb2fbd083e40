// The PNG reader (stb_image behind a header check that bounds the image before decoding).
#include <torch/torch.h>

#include "fuzz_target.h"
#include "jeffreys/data/images.h"

namespace {
using namespace jeffreys;

void fuzz_png(const uint8_t* data, size_t size) {
  const auto dir = fuzz::scratch_dir();
  const auto path = fuzz::write_file(dir, "input.png", {reinterpret_cast<const char*>(data), size});
  fuzz::expect_clean(
      [&] {
        const auto set = data::read_png(path);
        const auto c = set.images.size(1);
        if (set.images.dim() != 4 || set.images.size(0) != 1 || (c != 1 && c != 3))
          fuzz::finding("read_png returned an image of another shape");
        if (set.images.min().item<float>() < 0 || set.images.max().item<float>() > 1)
          fuzz::finding("read_png returned pixels outside [0, 1]");
      },
      {"input.png"});
}
}  // namespace

JEFFREYS_FUZZ_TARGET("png", fuzz_png)
