// PNG files: decodable, exact pixels, atomic, clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "jeffreys/plot/png.h"
#include "plot/png_reader.h"

namespace fs = std::filesystem;
namespace pl = jeffreys::plot;

namespace {

fs::path fresh_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("jeffreys_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST(PngFile, RoundTripsPixelsAndLeavesNoTemporaryFile) {
  const auto dir = fresh_dir("png_roundtrip");
  pl::Image im(7, 5, {10, 200, 30});
  im.set(0, 0, {255, 0, 0});
  im.set(6, 4, {0, 0, 255});
  const auto path = (dir / "a.png").string();
  pl::save_png(im, path);
  auto png = jtest::read_png(path);
  ASSERT_EQ(png.width, 7);
  ASSERT_EQ(png.height, 5);
  EXPECT_EQ(png.at(0, 0), (pl::Color{255, 0, 0}));
  EXPECT_EQ(png.at(6, 4), (pl::Color{0, 0, 255}));
  EXPECT_EQ(png.at(3, 2), (pl::Color{10, 200, 30}));
  // Overwriting replaces the file; only the target is left in the folder.
  pl::Image other(3, 2, {1, 2, 3});
  pl::save_png(other, path);
  EXPECT_EQ(jtest::read_png(path).width, 3);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"a.png"});
  // The in-memory encoding is the file's content.
  auto bytes = pl::encode_png(other);
  std::ifstream f(path, std::ios::binary);
  std::vector<uint8_t> on_disk((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes, on_disk);
  fs::remove_all(dir);
}

TEST(PngFile, UnwritablePathThrowsNamingIt) {
  const std::string path = "/nonexistent_jeffreys_dir/sub/figure.png";
  try {
    pl::save_png(pl::Image(4, 4), path);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  // A path that is an existing folder cannot be replaced by a file either.
  const auto dir = fresh_dir("png_dir_target");
  fs::create_directories(dir / "taken.png");
  EXPECT_THROW(pl::save_png(pl::Image(4, 4), (dir / "taken.png").string()), std::runtime_error);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"taken.png"});  // the temporary file was removed
  fs::remove_all(dir);
}
