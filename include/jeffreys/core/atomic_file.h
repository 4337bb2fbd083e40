#pragma once
/// Writing files so that a reader (or a process killed mid-write) never sees a partial file: write a
/// temporary file in the same folder, flush it to disk, then rename it over the target. Every file
/// the library and the tool write goes through this one function (checkpoints are serialised in
/// memory first). The temporary file is created new (O_EXCL) and never through a symbolic link.
#include <string>

namespace jeffreys {

/// Replaces `path` with `contents` atomically; throws std::runtime_error naming the path on failure.
void write_file_atomically(const std::string& path, const std::string& contents);

/// Whether a file name is one of the temporary files above (left behind by a killed process).
bool is_temporary_file(const std::string& name);

}  // namespace jeffreys
