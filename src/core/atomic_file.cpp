#include "jeffreys/core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace jeffreys {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what, int err) {
  throw std::runtime_error("cannot write '" + path + "': " + what + (err ? std::string(": ") + std::strerror(err) : ""));
}

/// Creates a new temporary file beside `path`: unique per process and call (two writers of one
/// target never share it), in the target's folder so that rename() stays on one file system.
std::string create_temporary(const std::string& path, int& fd) {
  static std::atomic<unsigned> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, "cannot create the temporary file '" + tmp + "'", errno);
  return tmp;
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& contents) {
  if (path.empty()) throw std::runtime_error("cannot write a file with an empty name");
  int fd = -1;
  const std::string tmp = create_temporary(path, fd);
  const char* p = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail(path, "write failed", err);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  // The bytes are made durable before the rename publishes them.
  ::fsync(fd);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, "close failed", err);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, "rename from '" + tmp + "' failed", err);
  }
}

bool is_temporary_file(const std::string& name) {
  return name.find(".tmp.") != std::string::npos ||
         (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0);
}

}  // namespace jeffreys
