#include "data/gz_reader.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "jeffreys/data/errors.h"

namespace jeffreys::data::detail {
namespace {
[[noreturn]] void fail(const std::string& path, const std::string& why) { throw DataError(path + ": " + why); }
}  // namespace

GzReader::GzReader(std::string path, const std::string& what) : path_(std::move(path)) {
  std::error_code ec;
  if (std::filesystem::is_directory(path_, ec)) fail(path_, "is a directory, not " + what);
  file_ = gzopen(path_.c_str(), "rb");
  if (file_ == nullptr) fail(path_, std::string("cannot open file (") + std::strerror(errno) + ")");
  gzbuffer(file_, 1 << 17);
}

GzReader::~GzReader() { gzclose(file_); }

uint64_t GzReader::read(uint8_t* out, uint64_t n) {
  uint64_t done = 0;
  while (done < n) {
    const auto want = static_cast<unsigned>(std::min<uint64_t>(n - done, 1u << 30));
    const int got = gzread(file_, out + done, want);
    if (got < 0) {
      int code = 0;
      const char* msg = gzerror(file_, &code);
      fail(path_, code == Z_ERRNO ? std::string("read error (") + std::strerror(errno) + ")"
                                  : std::string("corrupt gzip data (") + msg + ")");
    }
    if (got == 0) {
      // gzread ends a gzip stream cut short as if it were complete; only gzerror tells.
      int code = Z_OK;
      gzerror(file_, &code);
      if (code == Z_BUF_ERROR) fail(path_, "truncated gzip data (the compressed stream ends early)");
      break;
    }
    done += static_cast<uint64_t>(got);
  }
  return done;
}

uint64_t GzReader::count_rest() {
  std::array<uint8_t, 1 << 16> sink;
  uint64_t total = 0;
  for (uint64_t got; (got = read(sink.data(), sink.size())) > 0;) total += got;
  return total;
}

std::string read_text_file(const std::string& path, const std::string& what, uint64_t max_bytes) {
  GzReader in(path, what);
  std::string text;
  std::array<uint8_t, 1 << 16> chunk;
  for (uint64_t got; (got = in.read(chunk.data(), chunk.size())) > 0;) {
    if (text.size() + got > max_bytes)
      fail(path, "more than " + std::to_string(max_bytes >> 20) + " MiB of text: larger than this reader takes");
    text.append(reinterpret_cast<const char*>(chunk.data()), got);
  }
  return text;
}

}  // namespace jeffreys::data::detail
