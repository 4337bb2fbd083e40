#pragma once
/// Writing files so that a reader (or a process killed mid-write) never sees a partial file:
/// write a temporary file in the same folder, flush it to disk, then rename it over the target.
#include <string>

namespace jeffreys {

/// Replaces `path` with `contents` atomically; throws std::runtime_error naming the path on failure.
void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace jeffreys
