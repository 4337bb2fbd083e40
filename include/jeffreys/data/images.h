#pragma once
/// Image data sets for the image models: IDX files (MNIST, Fashion-MNIST) and folders of PNGs, read
/// into float tensors, with a seeded train / test split.
#include <torch/types.h>

#include <cstdint>
#include <string>

#include "jeffreys/data/errors.h"

namespace jeffreys::data {

/// Pixel values after reading: [0, 1] or [-1, 1].
enum class PixelRange { unit, symmetric };

/// Images as float32 [N, C, H, W] (C = 1 grey or 3 RGB) and labels int64 [N] (undefined tensor when there are none).
struct ImageSet {
  torch::Tensor images;
  torch::Tensor labels;
};

/// IDX files as Yann LeCun's MNIST format defines them (magic 0x00000803 for uint8 images [N,H,W], 0x00000801 for uint8 labels [N]), gzip-compressed or not (read through zlib's gzopen/gzread, which reads both). labels_path may be empty. Checks: magic number, dimensions, truncated file, trailing bytes, label count == image count; each failure a DataError naming the file.
///
/// Images come back as [N, 1, H, W]; a byte v becomes v / 255 (unit) or v / 127.5 - 1 (symmetric),
/// each rounded once to float32, so 0 and 255 map exactly onto the ends of the range.
ImageSet read_idx(const std::string& images_path, const std::string& labels_path = "",
                  PixelRange range = PixelRange::unit);

/// Every *.png in `dir` (sorted by file name, not recursive) via stb_image; all must have the same width, height and channel count after conversion (grey stays 1 channel, grey+alpha -> 1, RGB/RGBA -> 3 channels, alpha dropped); a mixed size or an unreadable/corrupt PNG -> DataError naming that file and, for a size mismatch, both sizes and the first file that had the other size. An empty folder or a missing one -> DataError. No labels.
///
/// The extension is matched exactly (".png", lower case); other files and sub-folders are ignored.
/// 16-bit PNGs are reduced to 8 bits before scaling, as for read_idx.
ImageSet read_png_folder(const std::string& dir, PixelRange range = PixelRange::unit);

/// One PNG file as a set of one image [1, C, H, W], converted as read_png_folder converts.
ImageSet read_png(const std::string& path, PixelRange range = PixelRange::unit);

/// The two parts of split_images.
struct ImageSplit {
  ImageSet train, test;
};

/// A seeded random split (test_fraction in (0,1), at least one image each side, else std::invalid_argument); labels follow their images.
///
/// round(test_fraction · N) images go to `test`; the same seed gives the same split.
ImageSplit split_images(const ImageSet& set, double test_fraction, uint64_t seed);

/// Fashion-MNIST (Debian's dataset-fashion-mnist: train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz in `dir`), its own 60,000 / 10,000 split.
ImageSplit read_fashion_mnist(const std::string& dir = "/usr/share/datasets/fashion-mnist",
                              PixelRange range = PixelRange::unit);

}  // namespace jeffreys::data
