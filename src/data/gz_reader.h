#pragma once
// Internal to the library's data readers: files read through zlib, so that every reader takes
// gzip-compressed files (.gz) as they are and plain files alike.
#include <zlib.h>

#include <cstdint>
#include <string>

namespace jeffreys::data::detail {

/// A file read through zlib: gzread decompresses gzip data and passes any other file through as is.
/// Errors are DataErrors naming the file, with `what` naming the kind of file expected.
class GzReader {
 public:
  GzReader(std::string path, const std::string& what);
  ~GzReader();
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  /// Up to n bytes into `out`; fewer only at the end of the data.
  uint64_t read(uint8_t* out, uint64_t n);
  /// Bytes left before the end of the data (consumes them).
  uint64_t count_rest();

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

/// The whole (decompressed) content of `path`; a DataError once it passes `max_bytes` (a small
/// gzip file can expand to gigabytes).
std::string read_text_file(const std::string& path, const std::string& what, uint64_t max_bytes);

}  // namespace jeffreys::data::detail
