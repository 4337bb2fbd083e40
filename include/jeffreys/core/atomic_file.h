#pragma once
/// Writing files so that a reader (or a process killed mid-write) never sees a partial file: write a
/// temporary file in the same folder, flush it to disk, then rename it over the target. Every file
/// the library and the tool write goes through these two functions.
#include <functional>
#include <string>

namespace jeffreys {

/// Replaces `path` with `contents` atomically; throws std::runtime_error naming the path on failure.
void write_file_atomically(const std::string& path, const std::string& contents);

/// Replaces `path` atomically with the file that `write(tmp)` writes at the temporary path `tmp`
/// (for writers that want a path, such as torch::save). The temporary file is created first, new
/// and not through a symbolic link; it is removed when `write` throws, and the error is rethrown.
void write_file_atomically_with(const std::string& path, const std::function<void(const std::string& tmp)>& write);

/// Whether a file name is one of the temporary files above (left behind by a killed process).
bool is_temporary_file(const std::string& name);

}  // namespace jeffreys
