#include "jeffreys/data/images.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <vector>

// The library's only stb_image implementation, static (as stb_image_write in plot/png.cpp) so that a
// program that also compiles stb_image gets no duplicate symbols. PNG only: a JPEG or BMP renamed to
// .png is reported rather than silently decoded.
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

#include "data/gz_reader.h"

namespace jeffreys::data {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kIdxImages = 0x00000803;
constexpr uint32_t kIdxLabels = 0x00000801;
// No real data set comes near this; a corrupt header that claims more is reported, not allocated.
constexpr uint64_t kMaxIdxBytes = uint64_t{1} << 36;

[[noreturn]] void fail(const std::string& path, const std::string& why) { throw DataError(path + ": " + why); }

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

/// Byte v -> float, each value rounded once from double, so the test's expected values and the
/// range ends (0 -> 0 or -1, 255 -> 1) are exact.
std::array<float, 256> pixel_table(PixelRange range) {
  std::array<float, 256> t{};
  for (int v = 0; v < 256; ++v)
    t[v] = static_cast<float>(range == PixelRange::unit ? v / 255.0 : v / 127.5 - 1.0);
  return t;
}

uint32_t big_endian(const uint8_t* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

std::string describe_magic(uint32_t magic) {
  if (magic == kIdxImages) return "uint8 images [N, H, W]";
  if (magic == kIdxLabels) return "uint8 labels [N]";
  return "not an IDX uint8 file";
}

struct Idx {
  std::vector<uint32_t> dims;
  std::vector<uint8_t> bytes;
};

/// One whole IDX file of uint8 values with the expected magic number.
Idx read_idx_file(const std::string& path, uint32_t expected_magic) {
  detail::GzReader in(path, "an IDX file");
  const size_t ndims = expected_magic & 0xff;
  std::vector<uint8_t> header(4 + 4 * ndims);
  const uint64_t got = in.read(header.data(), 4);
  if (got < 4) fail(path, "truncated: " + std::to_string(got) + " bytes, shorter than the 4-byte IDX magic number");
  const uint32_t magic = big_endian(header.data());
  if (magic != expected_magic)
    fail(path, "bad magic number " + hex32(magic) + " (" + describe_magic(magic) + "), expected " +
                   hex32(expected_magic) + " (" + describe_magic(expected_magic) + ")");
  const uint64_t got_dims = in.read(header.data() + 4, 4 * ndims);
  if (got_dims < 4 * ndims)
    fail(path, "truncated header: " + std::to_string(4 + got_dims) + " of " + std::to_string(header.size()) + " bytes");

  Idx idx;
  uint64_t count = 1;
  for (size_t d = 0; d < ndims; ++d) {
    const uint32_t n = big_endian(header.data() + 4 + 4 * d);
    if (n == 0) fail(path, "dimension " + std::to_string(d + 1) + " of " + std::to_string(ndims) + " is 0");
    idx.dims.push_back(n);
    // Checked before multiplying, so that the product cannot wrap around.
    if (count > kMaxIdxBytes / n) fail(path, "dimensions claim more than 2^36 values (a corrupt header?)");
    count *= n;
  }
  std::string shape;
  for (size_t d = 0; d < ndims; ++d) shape += (d ? " x " : "") + std::to_string(idx.dims[d]);

  // Grown as data arrives, so a header that claims far more than the file holds costs no more
  // memory than the file.
  uint64_t have = 0;
  while (have < count) {
    const uint64_t next = std::min<uint64_t>(count, std::max<uint64_t>(have * 2, uint64_t{1} << 24));
    idx.bytes.resize(next);
    const uint64_t n = in.read(idx.bytes.data() + have, next - have);
    have += n;
    if (have < next) break;
  }
  if (have < count)
    fail(path, "truncated: the header declares " + shape + " = " + std::to_string(count) + " values, the file holds " +
                   std::to_string(have));
  if (const uint64_t extra = in.count_rest(); extra > 0)
    fail(path, std::to_string(extra) + " trailing bytes after the " + shape + " values the header declares");
  return idx;
}

std::string describe_size(int w, int h, int c) {
  return std::to_string(w) + "x" + std::to_string(h) + " pixels, " +
         (c == 1 ? std::string("1 channel (grey)") : std::to_string(c) + " channels (RGB)");
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open file (") + std::strerror(errno) + ")");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, "read error");
  return bytes;
}

ImageSet subset(const ImageSet& set, const torch::Tensor& rows) {
  ImageSet out;
  out.images = set.images.index_select(0, rows.to(set.images.device()));
  if (set.labels.defined()) out.labels = set.labels.index_select(0, rows.to(set.labels.device()));
  return out;
}

/// The largest side of a PNG this reader decodes (a 16384 x 16384 RGB image is 805 MB decoded).
constexpr int kMaxPngSide = 16384;

struct DecodedPng {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  ///< H x W x C, interleaved
};

/// A big-endian 32-bit field of a PNG's IHDR chunk (width at byte 16, height at 20); -1 when the
/// bytes do not start like a PNG.
int64_t png_header_field(const std::vector<uint8_t>& b, size_t at) {
  static const uint8_t signature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (b.size() < 24 || !std::equal(std::begin(signature), std::end(signature), b.begin()) ||
      std::memcmp(b.data() + 12, "IHDR", 4) != 0)
    return -1;
  return (int64_t{b[at]} << 24) | (int64_t{b[at + 1]} << 16) | (int64_t{b[at + 2]} << 8) | int64_t{b[at + 3]};
}

/// Every chunk's declared length must lie inside the file: stb_image reserves a chunk's declared size
/// before reading it, so 126 bytes could make it allocate 2 GiB (found by fuzzing).
void check_png_chunks(const std::string& path, const std::vector<uint8_t>& b) {
  if (png_header_field(b, 16) < 0) return;  // not a PNG: stb_image says so
  size_t at = 8;
  while (at + 8 <= b.size()) {
    const uint64_t length = big_endian(&b[at]);
    const std::string type(reinterpret_cast<const char*>(&b[at + 4]), 4);
    if (length + 4 > b.size() - at - 8)
      fail(path, "chunk '" + type + "' at byte " + std::to_string(at) + " declares " + std::to_string(length) +
                     " bytes, more than the file holds after it");
    at += 12 + length;
    if (type == "IEND") return;
  }
}

/// One PNG: grey (with or without alpha) stays one channel, colour becomes RGB; alpha is not image content here.
DecodedPng decode_png(const std::string& path) {
  const auto bytes = read_bytes(path);
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) fail(path, "file too large for a PNG");
  const int len = static_cast<int>(bytes.size());
  // The header's size is checked before stb_image sees the file: a few bytes can declare gigapixels,
  // and stb's own refusal of them reads "unknown image type".
  const int64_t declared_w = png_header_field(bytes, 16), declared_h = png_header_field(bytes, 20);
  if (declared_w > kMaxPngSide || declared_h > kMaxPngSide)
    fail(path, "its header declares " + std::to_string(declared_w) + "x" + std::to_string(declared_h) +
                   " pixels: larger than the " + std::to_string(kMaxPngSide) + "x" + std::to_string(kMaxPngSide) +
                   " pixels this reader decodes");
  check_png_chunks(path, bytes);
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(bytes.data(), len, &w, &h, &comp)) {
    std::string why = std::string("not a readable PNG (stb_image: ") + stbi_failure_reason() + ")";
    if (declared_w > 0 && declared_h > 0)
      why += "; its header declares " + std::to_string(declared_w) + "x" + std::to_string(declared_h) +
             " pixels (stb_image decodes at most 2^24 bytes of pixels)";
    fail(path, why);
  }
  // Other formats stb_image recognises under a .png name are bounded here, still before decoding.
  if (w > kMaxPngSide || h > kMaxPngSide)
    fail(path, describe_size(w, h, comp <= 2 ? 1 : 3) + ": larger than the " + std::to_string(kMaxPngSide) + "x" +
                   std::to_string(kMaxPngSide) + " pixels this reader decodes");
  const int c = comp <= 2 ? 1 : 3;
  uint8_t* data = stbi_load_from_memory(bytes.data(), len, &w, &h, &comp, c);
  if (data == nullptr) fail(path, std::string("not a readable PNG (stb_image: ") + stbi_failure_reason() + ")");
  DecodedPng png{w, h, c, std::vector<uint8_t>(data, data + static_cast<size_t>(w) * h * c)};
  stbi_image_free(data);
  return png;
}

ImageSet to_image_set(const std::vector<uint8_t>& pixels, int64_t n, int width, int height, int channels,
                      PixelRange range) {
  const int64_t plane = int64_t{width} * height;
  ImageSet set;
  set.images = torch::empty({n, channels, height, width}, torch::kFloat);
  const auto table = pixel_table(range);
  float* out = set.images.data_ptr<float>();
  // stb_image gives interleaved H x W x C; the tensor is planar C x H x W.
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* src = pixels.data() + i * plane * channels;
    float* dst = out + i * plane * channels;
    for (int64_t p = 0; p < plane; ++p)
      for (int64_t ch = 0; ch < channels; ++ch) dst[ch * plane + p] = table[src[p * channels + ch]];
  }
  return set;
}

}  // namespace

ImageSet read_idx(const std::string& images_path, const std::string& labels_path, PixelRange range) {
  const Idx img = read_idx_file(images_path, kIdxImages);
  const int64_t n = img.dims[0], h = img.dims[1], w = img.dims[2];
  ImageSet set;
  set.images = torch::empty({n, 1, h, w}, torch::kFloat);
  const auto table = pixel_table(range);
  float* out = set.images.data_ptr<float>();
  for (size_t i = 0; i < img.bytes.size(); ++i) out[i] = table[img.bytes[i]];

  if (!labels_path.empty()) {
    const Idx lab = read_idx_file(labels_path, kIdxLabels);
    if (lab.dims[0] != img.dims[0])
      fail(labels_path, std::to_string(lab.dims[0]) + " labels, but " + images_path + " holds " +
                            std::to_string(n) + " images");
    set.labels = torch::empty({n}, torch::kLong);
    int64_t* l = set.labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) l[i] = lab.bytes[i];
  }
  return set;
}

ImageSet read_png_folder(const std::string& dir, PixelRange range) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) fail(dir, "no such folder");
  if (!fs::is_directory(dir, ec)) fail(dir, "is not a folder");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".png" && entry.is_regular_file()) files.push_back(entry.path());
  }
  if (files.empty()) fail(dir, "no .png files in the folder");
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });

  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // every image's H x W x C bytes, one after the other
  for (const auto& file : files) {
    const auto png = decode_png(file.string());
    if (pixels.empty()) {
      width = png.width, height = png.height, channels = png.channels;
    } else if (png.width != width || png.height != height || png.channels != channels) {
      fail(file.string(), describe_size(png.width, png.height, png.channels) + ", but " + files.front().string() +
                              " (the first file) has " + describe_size(width, height, channels) +
                              "; all images in a folder must match");
    }
    pixels.insert(pixels.end(), png.pixels.begin(), png.pixels.end());
  }
  return to_image_set(pixels, static_cast<int64_t>(files.size()), width, height, channels, range);
}

ImageSet read_png(const std::string& path, PixelRange range) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail(path, "no such file");
  const auto png = decode_png(path);
  return to_image_set(png.pixels, 1, png.width, png.height, png.channels, range);
}

ImageSplit split_images(const ImageSet& set, double test_fraction, uint64_t seed) {
  if (!set.images.defined() || set.images.dim() != 4)
    throw std::invalid_argument("split_images: images must be [N, C, H, W]");
  const int64_t n = set.images.size(0);
  if (set.labels.defined() && (set.labels.dim() != 1 || set.labels.size(0) != n))
    throw std::invalid_argument("split_images: labels must be [N] with N = " + std::to_string(n) + " images");
  if (!(test_fraction > 0 && test_fraction < 1))
    throw std::invalid_argument("split_images: test_fraction must be in (0, 1), got " + std::to_string(test_fraction));
  const auto n_test = static_cast<int64_t>(std::llround(test_fraction * static_cast<double>(n)));
  if (n_test == 0 || n_test == n)
    throw std::invalid_argument("split_images: a test fraction of " + std::to_string(test_fraction) + " of " +
                                std::to_string(n) + " images leaves the " + (n_test == 0 ? "test" : "training") +
                                " part empty");
  const auto order = torch::randperm(n, at::detail::createCPUGenerator(seed), torch::kLong);
  return {subset(set, order.narrow(0, n_test, n - n_test)), subset(set, order.narrow(0, 0, n_test))};
}

ImageSplit read_fashion_mnist(const std::string& dir, PixelRange range) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    fail(dir, "no such folder (Debian's dataset-fashion-mnist package installs Fashion-MNIST in "
              "/usr/share/datasets/fashion-mnist)");
  const fs::path d(dir);
  return {read_idx((d / "train-images-idx3-ubyte.gz").string(), (d / "train-labels-idx1-ubyte.gz").string(), range),
          read_idx((d / "t10k-images-idx3-ubyte.gz").string(), (d / "t10k-labels-idx1-ubyte.gz").string(), range)};
}

}  // namespace jeffreys::data
