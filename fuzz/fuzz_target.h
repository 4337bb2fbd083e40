#pragma once
/// One fuzz target: a function of the input bytes that feeds them to one of the project's readers and
/// returns normally when the reader accepts them or refuses them with a clear error. Anything else
/// (a crash, a sanitizer report, an unexpected exception type, an error message that spans several
/// lines or does not say where) aborts, and the fuzzer records the input.
///
/// The same target file builds two ways: with libFuzzer (`make fuzz`, clang, JEFFREYS_LIBFUZZER
/// defined) it defines LLVMFuzzerTestOneInput; otherwise it registers itself with the replay driver
/// (fuzz/replay_main.cpp), which ctest runs over the committed corpus under any compiler.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace jeffreys::fuzz {

using TargetFn = void (*)(const uint8_t* data, size_t size);

/// Registers a target for the replay driver; returns true so it can initialise a static.
bool register_target(const char* name, TargetFn fn);

/// The registered targets by name.
const std::map<std::string, TargetFn>& targets();

/// The input split at every line that is exactly "--8<--" (the seeds use it to pack several files
/// into one input); missing parts come back empty.
std::vector<std::string> split_parts(const uint8_t* data, size_t size, size_t parts);

/// The non-empty lines of `text` (the --set lines of a target's input).
std::vector<std::string> lines(const std::string& text);

/// A private folder for this process's input files (under /dev/shm where it exists), emptied on
/// each call; files written there keep fixed names so that error messages are reproducible.
std::string scratch_dir();

/// Writes `bytes` to `dir`/`name` and returns the path.
std::string write_file(const std::string& dir, const std::string& name, std::string_view bytes);

/// Runs `read`; an exception is accepted only when it is one of the project's reader errors (or
/// std::invalid_argument for a value the reader refuses), its message is one line, and the message
/// contains one of `where` (the file's name, "--set", ...). Anything else aborts with a report.
template <class Read>
void expect_clean(Read&& read, const std::vector<std::string>& where);

/// Aborts the process with `what` (a finding).
[[noreturn]] void finding(const std::string& what);

/// Checks an accepted error's message (see expect_clean).
void check_message(const char* type, const std::string& message, const std::vector<std::string>& where);

}  // namespace jeffreys::fuzz

#include "fuzz_target_impl.h"

#ifdef JEFFREYS_LIBFUZZER
#define JEFFREYS_FUZZ_TARGET(name, fn) \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    fn(data, size);                                                         \
    return 0;                                                               \
  }
#else
#define JEFFREYS_FUZZ_TARGET(name, fn) \
  static const bool jeffreys_fuzz_registered_##fn = ::jeffreys::fuzz::register_target(name, fn);
#endif
