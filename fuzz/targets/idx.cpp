// The IDX image reader (MNIST layout, gzip or not): an image file, then an optional label file.
#include <torch/torch.h>

#include "fuzz_target.h"
#include "jeffreys/data/images.h"

namespace {
using namespace jeffreys;

void fuzz_idx(const uint8_t* data, size_t size) {
  const auto parts = fuzz::split_parts(data, size, 2);
  const auto dir = fuzz::scratch_dir();
  const auto images = fuzz::write_file(dir, "images.idx", parts[0]);
  const auto labels = parts[1].empty() ? std::string() : fuzz::write_file(dir, "labels.idx", parts[1]);
  fuzz::expect_clean(
      [&] {
        const auto set = data::read_idx(images, labels, data::PixelRange::symmetric);
        if (set.images.dim() != 4 || set.images.size(1) != 1) fuzz::finding("read_idx returned images of another shape");
        if (set.images.numel() > 0 && (set.images.min().item<float>() < -1 || set.images.max().item<float>() > 1))
          fuzz::finding("read_idx returned pixels outside [-1, 1]");
        if (set.labels.defined() && set.labels.size(0) != set.images.size(0))
          fuzz::finding("read_idx returned as many labels as images");
      },
      {"images.idx", "labels.idx"});
}
}  // namespace

JEFFREYS_FUZZ_TARGET("idx", fuzz_idx)
