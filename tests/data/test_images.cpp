// Image data sets: IDX files (raw and gzip) and PNG folders written here with known pixels and read
// back exactly in both ranges; malformed files rejected with a DataError naming them; the seeded
// split; and Debian's Fashion-MNIST where it is installed.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "jeffreys/data/images.h"
#include "jeffreys/plot/png.h"

namespace dt = jeffreys::data;
namespace fs = std::filesystem;

namespace {

void put32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::string idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values) {
  std::string s;
  put32(s, magic);
  for (uint32_t d : dims) put32(s, d);
  s.append(values.begin(), values.end());
  return s;
}

std::string gzip(const std::string& raw) {
  const auto path = fs::temp_directory_path() / ("jeffreys_gzip_" + std::to_string(::getpid()));
  gzFile f = gzopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  EXPECT_EQ(gzwrite(f, raw.data(), static_cast<unsigned>(raw.size())), static_cast<int>(raw.size()));
  gzclose(f);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove(path);
  return bytes;
}

void append_chunk(std::string& out, const char* type, const std::string& data) {
  put32(out, static_cast<uint32_t>(data.size()));
  const std::string typed = std::string(type, 4) + data;
  out += typed;
  put32(out, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(typed.data()), typed.size())));
}

/// A PNG of any colour type (0 grey, 2 RGB, 4 grey + alpha, 6 RGBA), 8 bits, written out by hand:
/// plot::save_png only writes RGB, and the reader's grey and alpha handling needs the other types.
std::string encode_png(int w, int h, int color_type, const std::vector<uint8_t>& pixels) {
  const int channels = color_type == 0 ? 1 : color_type == 2 ? 3 : color_type == 4 ? 2 : 4;
  EXPECT_EQ(pixels.size(), static_cast<size_t>(w * h * channels));
  std::string raw;
  for (int y = 0; y < h; ++y) {
    raw.push_back('\0');  // filter type 0: the row as is
    raw.append(pixels.begin() + y * w * channels, pixels.begin() + (y + 1) * w * channels);
  }
  uLongf size = compressBound(raw.size());
  std::string packed(size, '\0');
  EXPECT_EQ(compress(reinterpret_cast<Bytef*>(packed.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
                     raw.size()),
            Z_OK);
  packed.resize(size);
  std::string ihdr;
  put32(ihdr, static_cast<uint32_t>(w));
  put32(ihdr, static_cast<uint32_t>(h));
  ihdr += std::string{8, static_cast<char>(color_type), 0, 0, 0};
  std::string png = "\x89PNG\r\n\x1a\n";
  append_chunk(png, "IHDR", ihdr);
  append_chunk(png, "IDAT", packed);
  append_chunk(png, "IEND", "");
  return png;
}

float unit(int v) { return static_cast<float>(v / 255.0); }
float symmetric(int v) { return static_cast<float>(v / 127.5 - 1.0); }

/// Runs `read`, which must throw a DataError whose message starts with `path` and holds every one of `expected`.
template <typename F>
void expect_data_error(F read, const std::string& path, const std::vector<std::string>& expected) {
  try {
    read();
    ADD_FAILURE() << path << ": no DataError";
  } catch (const dt::DataError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(path, 0), 0u) << "message should start with " << path << ": " << what;
    for (const auto& s : expected) EXPECT_NE(what.find(s), std::string::npos) << "'" << s << "' not in: " << what;
  }
}

class ImageFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jeffreys_images_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content) {
    const auto path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }
  std::string folder(const std::string& name) {
    fs::create_directories(dir_ / name);
    return (dir_ / name).string();
  }

  fs::path dir_;
};

// Three 2 x 3 images (rows of 3) covering both ends of the byte range.
const std::vector<uint8_t> kPixels = {0,   1,  2,  127, 128, 255,  // image 0
                                      10,  20, 30, 40,  50,  60,   // image 1
                                      255, 254, 253, 3, 4,   5};   // image 2
const std::vector<uint8_t> kLabels = {7, 0, 9};

}  // namespace

TEST_F(ImageFiles, IdxRawAndGzipReadExactPixelsAndLabels) {
  const auto images = idx_bytes(0x00000803, {3, 2, 3}, kPixels);
  const auto labels = idx_bytes(0x00000801, {3}, kLabels);
  for (bool compressed : {false, true}) {
    SCOPED_TRACE(compressed ? "gzip" : "raw");
    const std::string suffix = compressed ? ".gz" : "";
    const auto img_path = write("images-idx3-ubyte" + suffix, compressed ? gzip(images) : images);
    const auto lab_path = write("labels-idx1-ubyte" + suffix, compressed ? gzip(labels) : labels);
    if (compressed) {  // the gzip case must really be compressed data, not the raw bytes again
      std::ifstream in(img_path, std::ios::binary);
      ASSERT_EQ(in.get(), 0x1f);
      ASSERT_EQ(in.get(), 0x8b);
    }

    const auto set = dt::read_idx(img_path, lab_path);
    ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{3, 1, 2, 3}));
    ASSERT_EQ(set.images.dtype(), torch::kFloat);
    const auto flat = set.images.contiguous().view(-1);
    for (size_t i = 0; i < kPixels.size(); ++i) EXPECT_EQ(flat[i].item<float>(), unit(kPixels[i])) << "pixel " << i;
    // Layout [N, 1, H, W]: image 2, row 1, column 0 is byte 2 * 6 + 1 * 3 + 0.
    EXPECT_EQ(set.images[2][0][1][0].item<float>(), unit(3));
    EXPECT_EQ(set.images[0][0][1][2].item<float>(), 1.0f);
    ASSERT_TRUE(set.labels.defined());
    ASSERT_EQ(set.labels.dtype(), torch::kLong);
    ASSERT_EQ(set.labels.sizes(), (std::vector<int64_t>{3}));
    for (int i = 0; i < 3; ++i) EXPECT_EQ(set.labels[i].item<int64_t>(), kLabels[i]);

    const auto sym = dt::read_idx(img_path, lab_path, dt::PixelRange::symmetric).images.contiguous().view(-1);
    for (size_t i = 0; i < kPixels.size(); ++i) EXPECT_EQ(sym[i].item<float>(), symmetric(kPixels[i])) << "pixel " << i;
    EXPECT_EQ(sym[0].item<float>(), -1.0f);
    EXPECT_EQ(sym[5].item<float>(), 1.0f);
    EXPECT_EQ(sym.min().item<float>(), -1.0f);
    EXPECT_EQ(sym.max().item<float>(), 1.0f);

    const auto unlabelled = dt::read_idx(img_path);
    EXPECT_FALSE(unlabelled.labels.defined());
    EXPECT_TRUE(torch::equal(unlabelled.images, set.images));
  }
}

TEST_F(ImageFiles, IdxMalformedFilesNameTheFile) {
  const auto good_images = write("good-images", idx_bytes(0x00000803, {3, 2, 3}, kPixels));
  struct Case {
    std::string file, content;
    std::vector<std::string> expected;
  };
  std::vector<uint8_t> short_pixels(kPixels.begin(), kPixels.end() - 1);
  std::vector<uint8_t> long_pixels = kPixels;
  long_pixels.insert(long_pixels.end(), 5, 0);
  const auto good_gz = gzip(idx_bytes(0x00000803, {3, 2, 3}, kPixels));
  const std::vector<Case> corpus = {
      {"labels-as-images", idx_bytes(0x00000801, {3}, kLabels), {"bad magic number 0x00000801", "expected 0x00000803"}},
      {"random-magic", idx_bytes(0x12345678, {3, 2, 3}, kPixels), {"bad magic number 0x12345678", "not an IDX"}},
      {"truncated-pixels", idx_bytes(0x00000803, {3, 2, 3}, short_pixels), {"truncated", "3 x 2 x 3 = 18 values", "holds 17"}},
      {"truncated-pixels.gz", gzip(idx_bytes(0x00000803, {3, 2, 3}, short_pixels)), {"truncated", "holds 17"}},
      {"truncated-header", idx_bytes(0x00000803, {3, 2}, {}), {"truncated header: 12 of 16 bytes"}},
      {"trailing", idx_bytes(0x00000803, {3, 2, 3}, long_pixels), {"5 trailing bytes"}},
      {"zero-dimension", idx_bytes(0x00000803, {0, 2, 3}, {}), {"dimension 1 of 3 is 0"}},
      {"empty", "", {"truncated: 0 bytes"}},
      {"huge", idx_bytes(0x00000803, {60000, 100000, 100000}, kPixels), {"more than 2^36"}},
      // A gzip stream cut short: zlib reports it (or the data comes up short); either way, this file.
      {"cut.gz", good_gz.substr(0, good_gz.size() - 12), {}},
  };
  for (const auto& c : corpus) {
    SCOPED_TRACE(c.file);
    const auto path = write(c.file, c.content);
    expect_data_error([&] { dt::read_idx(path); }, path, c.expected);
  }

  // Label files: wrong magic, wrong count, missing; the message names the labels file.
  const auto images_as_labels = write("images-as-labels", idx_bytes(0x00000803, {3, 2, 3}, kPixels));
  expect_data_error([&] { dt::read_idx(good_images, images_as_labels); }, images_as_labels,
                    {"bad magic number 0x00000803", "expected 0x00000801"});
  const auto two_labels = write("two-labels", idx_bytes(0x00000801, {2}, {1, 2}));
  expect_data_error([&] { dt::read_idx(good_images, two_labels); }, two_labels,
                    {"2 labels, but " + good_images + " holds 3 images"});
  const auto missing = (dir_ / "missing-labels.gz").string();
  expect_data_error([&] { dt::read_idx(good_images, missing); }, missing, {"cannot open file"});
  const auto missing_images = (dir_ / "missing-images").string();
  expect_data_error([&] { dt::read_idx(missing_images); }, missing_images, {"cannot open file"});
  expect_data_error([&] { dt::read_idx(dir_.string()); }, dir_.string(), {"is a directory"});
  // DataError is a std::runtime_error, so generic handlers see it.
  EXPECT_THROW(dt::read_idx(missing_images), std::runtime_error);
}

TEST(FashionMnist, ReadsDebianDataset) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(fs::path(dir) / "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << dir << " not installed (Debian package dataset-fashion-mnist)";
  const auto data = dt::read_fashion_mnist(dir);
  ASSERT_EQ(data.train.images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  ASSERT_EQ(data.test.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  ASSERT_EQ(data.train.labels.sizes(), (std::vector<int64_t>{60000}));
  ASSERT_EQ(data.test.labels.sizes(), (std::vector<int64_t>{10000}));
  for (const auto* part : {&data.train, &data.test}) {
    EXPECT_EQ(part->labels.min().item<int64_t>(), 0);
    EXPECT_EQ(part->labels.max().item<int64_t>(), 9);
    EXPECT_EQ(part->images.min().item<float>(), 0.0f);
    EXPECT_EQ(part->images.max().item<float>(), 1.0f);
  }
  // Both parts are balanced: 6000 and 1000 of each of the ten classes.
  const auto train_counts = torch::bincount(data.train.labels, {}, 10);
  const auto test_counts = torch::bincount(data.test.labels, {}, 10);
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(train_counts[c].item<int64_t>(), 6000) << "class " << c;
    EXPECT_EQ(test_counts[c].item<int64_t>(), 1000) << "class " << c;
  }
  // The training set's published pixel mean and standard deviation (0.2860, 0.3530).
  EXPECT_NEAR(data.train.images.mean().item<double>(), 0.2860, 5e-4);
  EXPECT_NEAR(data.train.images.std().item<double>(), 0.3530, 5e-4);

  expect_data_error([] { dt::read_fashion_mnist("/nonexistent/fashion"); }, "/nonexistent/fashion",
                    {"no such folder", "dataset-fashion-mnist"});
}

TEST_F(ImageFiles, PngFolderRgbExactPixelsSortedByName) {
  namespace pl = jeffreys::plot;
  const auto dir = folder("rgb");
  // Pixel (x, y) of image `id` has colour (id * 50 + x, 10 * y + x, 255 - id) : distinct everywhere.
  auto colour = [](int id, int x, int y) {
    return pl::Color{static_cast<uint8_t>(id * 50 + x), static_cast<uint8_t>(10 * y + x), static_cast<uint8_t>(255 - id)};
  };
  auto make = [&](int id) {
    pl::Image im(3, 2);
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 3; ++x) im.set(x, y, colour(id, x, y));
    return im;
  };
  // Written out of order: the result follows the file names.
  pl::save_png(make(2), dir + "/c.png");
  pl::save_png(make(0), dir + "/a.png");
  pl::save_png(make(1), dir + "/b.png");
  // Not read: another extension, and a sub-folder (whose image has another size).
  write("rgb/notes.txt", "not an image");
  fs::create_directories(fs::path(dir) / "sub");
  pl::save_png(pl::Image(5, 5), dir + "/sub/z.png");

  for (auto range : {dt::PixelRange::unit, dt::PixelRange::symmetric}) {
    const auto set = dt::read_png_folder(dir, range);
    ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{3, 3, 2, 3}));
    EXPECT_FALSE(set.labels.defined());
    for (int id = 0; id < 3; ++id)
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x)
          for (int c = 0; c < 3; ++c) {
            const int v = colour(id, x, y)[c];
            EXPECT_EQ(set.images[id][c][y][x].item<float>(), range == dt::PixelRange::unit ? unit(v) : symmetric(v))
                << "image " << id << " x " << x << " y " << y << " channel " << c;
          }
  }
}

TEST_F(ImageFiles, SinglePngEqualsItsFolderReadingAndNamesAMissingFile) {
  namespace pl = jeffreys::plot;
  const auto dir = folder("one");
  pl::Image im(4, 2);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 4; ++x) im.set(x, y, {static_cast<uint8_t>(60 * x), static_cast<uint8_t>(100 * y), 7});
  pl::save_png(im, dir + "/only.png");
  const auto one = dt::read_png(dir + "/only.png", dt::PixelRange::symmetric);
  ASSERT_EQ(one.images.sizes(), (std::vector<int64_t>{1, 3, 2, 4}));
  EXPECT_TRUE(torch::equal(one.images, dt::read_png_folder(dir, dt::PixelRange::symmetric).images));
  EXPECT_EQ(one.images[0][0][1][3].item<float>(), symmetric(180));
  try {
    dt::read_png(dir + "/missing.png");
    FAIL() << "expected DataError";
  } catch (const dt::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.png"), std::string::npos) << e.what();
  }
}

TEST_F(ImageFiles, PngGreyStaysOneChannelAndAlphaIsDropped) {
  // Grey and grey + alpha both read as one channel; the alpha bytes (here 0 and 17) never show.
  const auto grey = folder("grey");
  write("grey/a.png", encode_png(2, 2, 0, {0, 64, 128, 255}));
  write("grey/b.png", encode_png(2, 2, 4, {9, 0, 99, 17, 199, 0, 249, 17}));
  const auto g = dt::read_png_folder(grey);
  ASSERT_EQ(g.images.sizes(), (std::vector<int64_t>{2, 1, 2, 2}));
  const std::vector<int> want_grey = {0, 64, 128, 255, 9, 99, 199, 249};
  const auto gflat = g.images.contiguous().view(-1);
  for (size_t i = 0; i < want_grey.size(); ++i) EXPECT_EQ(gflat[i].item<float>(), unit(want_grey[i])) << i;

  // RGB and RGBA both read as RGB; a transparent pixel keeps its colour (no premultiplication).
  const auto colour = folder("colour");
  write("colour/a.png", encode_png(2, 1, 2, {1, 2, 3, 4, 5, 6}));
  write("colour/b.png", encode_png(2, 1, 6, {10, 20, 30, 0, 40, 50, 60, 255}));
  const auto c = dt::read_png_folder(colour);
  ASSERT_EQ(c.images.sizes(), (std::vector<int64_t>{2, 3, 1, 2}));
  // Planar [N, C, H, W]: per image, the red values of both pixels, then green, then blue.
  const std::vector<int> want_colour = {1, 4, 2, 5, 3, 6, 10, 40, 20, 50, 30, 60};
  const auto cflat = c.images.contiguous().view(-1);
  for (size_t i = 0; i < want_colour.size(); ++i) EXPECT_EQ(cflat[i].item<float>(), unit(want_colour[i])) << i;
}

TEST_F(ImageFiles, PngMixedSizesNameTheOddFile) {
  namespace pl = jeffreys::plot;
  const auto dir = folder("mixed");
  pl::save_png(pl::Image(3, 2), dir + "/a.png");
  pl::save_png(pl::Image(3, 2), dir + "/b.png");
  pl::save_png(pl::Image(4, 2), dir + "/c.png");
  pl::save_png(pl::Image(3, 2), dir + "/d.png");
  expect_data_error([&] { dt::read_png_folder(dir); }, dir + "/c.png",
                    {"4x2 pixels, 3 channels (RGB), but " + dir + "/a.png (the first file) has 3x2 pixels, 3 channels"});

  // Same size, other channel count.
  const auto channels = folder("channels");
  pl::save_png(pl::Image(2, 2), channels + "/a.png");
  write("channels/b.png", encode_png(2, 2, 0, {1, 2, 3, 4}));
  expect_data_error([&] { dt::read_png_folder(channels); }, channels + "/b.png",
                    {"2x2 pixels, 1 channel (grey), but " + channels + "/a.png", "3 channels (RGB)"});
}

TEST_F(ImageFiles, PngCorruptMissingAndEmptyFolders) {
  namespace pl = jeffreys::plot;
  const auto dir = folder("corrupt");
  pl::save_png(pl::Image(2, 2), dir + "/a.png");
  std::string noise;
  uint32_t state = 12345;
  for (int i = 0; i < 300; ++i) noise.push_back(static_cast<char>((state = state * 1664525u + 1013904223u) >> 24));
  const auto bad = write("corrupt/b.png", noise);
  expect_data_error([&] { dt::read_png_folder(dir); }, bad, {"not a readable PNG (stb_image: "});

  // A real PNG cut in half: the signature is right, the data is not all there.
  const auto cut = folder("cut");
  const auto whole = encode_png(8, 8, 0, std::vector<uint8_t>(64, 7));
  const auto half = write("cut/a.png", whole.substr(0, whole.size() / 2));
  expect_data_error([&] { dt::read_png_folder(cut); }, half, {"not a readable PNG"});

  const auto empty = folder("empty");
  expect_data_error([&] { dt::read_png_folder(empty); }, empty, {"no .png files"});
  write("only-text/readme.txt", "no images here");
  expect_data_error([&] { dt::read_png_folder((dir_ / "only-text").string()); }, (dir_ / "only-text").string(),
                    {"no .png files"});
  const auto missing = (dir_ / "missing").string();
  expect_data_error([&] { dt::read_png_folder(missing); }, missing, {"no such folder"});
  const auto file = write("plain-file", "x");
  expect_data_error([&] { dt::read_png_folder(file); }, file, {"is not a folder"});
}

TEST(SplitImages, SizesDisjointLabelsFollowDeterministic) {
  // Image i is filled with the value i and labelled i, so a label is checkable against its image.
  const int64_t n = 50;
  dt::ImageSet set;
  set.images = torch::arange(n, torch::kFloat).view({n, 1, 1, 1}).expand({n, 1, 2, 2}).contiguous();
  set.labels = torch::arange(n, torch::kLong);

  const auto split = dt::split_images(set, 0.3, 7);
  ASSERT_EQ(split.test.images.size(0), 15);
  ASSERT_EQ(split.train.images.size(0), 35);
  EXPECT_EQ(split.train.images.sizes().slice(1), set.images.sizes().slice(1));
  std::set<int64_t> seen;
  for (const auto* part : {&split.train, &split.test}) {
    ASSERT_EQ(part->labels.size(0), part->images.size(0));
    for (int64_t i = 0; i < part->images.size(0); ++i) {
      const auto id = static_cast<int64_t>(part->images[i][0][1][1].item<float>());
      EXPECT_EQ(part->labels[i].item<int64_t>(), id);
      EXPECT_TRUE(seen.insert(id).second) << "image " << id << " is in both parts";
    }
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(n));  // every image in exactly one part

  const auto again = dt::split_images(set, 0.3, 7);
  EXPECT_TRUE(torch::equal(again.test.labels, split.test.labels));
  EXPECT_TRUE(torch::equal(again.train.images, split.train.images));
  const auto other = dt::split_images(set, 0.3, 8);
  EXPECT_FALSE(torch::equal(other.test.labels, split.test.labels));
  // The test part is shuffled, not the first 15 images.
  EXPECT_FALSE(torch::equal(std::get<0>(split.test.labels.sort()), torch::arange(15, torch::kLong)));

  dt::ImageSet unlabelled{set.images, {}};
  const auto u = dt::split_images(unlabelled, 0.3, 7);
  EXPECT_FALSE(u.train.labels.defined());
  EXPECT_TRUE(torch::equal(u.test.images, split.test.images));

  for (double bad : {0.0, 1.0, -0.1, 1.5, std::nan(""), 0.005, 0.995})
    EXPECT_THROW(dt::split_images(set, bad, 7), std::invalid_argument) << bad;
  dt::ImageSet wrong_labels{set.images, torch::arange(n - 1, torch::kLong)};
  EXPECT_THROW(dt::split_images(wrong_labels, 0.3, 7), std::invalid_argument);
}

namespace {

TEST_F(ImageFiles, PngDeclaringGigapixelsIsRefusedBeforeDecoding) {
  // A header that declares 30000 x 30000 grey pixels (900 MB, under stb's own 1 GiB limit) over a
  // few bytes of data (a decompression bomb): refused from the header alone, naming the file and size.
  std::string ihdr;
  put32(ihdr, 30000u);
  put32(ihdr, 30000u);
  ihdr += std::string{8, 0, 0, 0, 0};
  std::string png = "\x89PNG\r\n\x1a\n";
  append_chunk(png, "IHDR", ihdr);
  append_chunk(png, "IDAT", std::string("\x78\x9c\x03\x00\x00\x00\x00\x01", 8));
  append_chunk(png, "IEND", "");
  const auto dir = folder("bomb");
  write("bomb/a.png", png);
  expect_data_error([&] { dt::read_png_folder(dir); }, dir + "/a.png", {"30000x30000 pixels", "larger than the 16384x16384"});
}

}  // namespace
