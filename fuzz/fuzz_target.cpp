// Shared pieces of the fuzz targets: input splitting, scratch files, the verdict on an error.
#include "fuzz_target.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace jeffreys::fuzz {

std::map<std::string, TargetFn>& registry() {
  static std::map<std::string, TargetFn> targets;
  return targets;
}

bool register_target(const char* name, TargetFn fn) {
  registry()[name] = fn;
  return true;
}

const std::map<std::string, TargetFn>& targets() { return registry(); }

std::vector<std::string> split_parts(const uint8_t* data, size_t size, size_t parts) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::string_view sep = "\n--8<--\n";
  std::vector<std::string> out;
  size_t at = 0;
  while (out.size() + 1 < parts) {
    const size_t next = all.find(sep, at);
    if (next == std::string_view::npos) break;
    out.emplace_back(all.substr(at, next - at));
    at = next + sep.size();
  }
  out.emplace_back(at <= all.size() ? all.substr(at) : std::string_view());
  out.resize(parts);
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::string scratch_dir() {
  namespace fs = std::filesystem;
  static const std::string dir = [] {
    const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    return (base / ("jeffreys_fuzz_" + std::to_string(::getpid()))).string();
  }();
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  return dir;
}

std::string write_file(const std::string& dir, const std::string& name, std::string_view bytes) {
  const std::string file = dir + "/" + name;
  std::ofstream(file, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return file;
}

void finding(const std::string& what) {
  std::fprintf(stderr, "FUZZ FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

void check_message(const char* type, const std::string& message, const std::vector<std::string>& where) {
  // JEFFREYS_FUZZ_VERBOSE=1 shows each refusal (to see what a seed reaches).
  static const bool verbose = std::getenv("JEFFREYS_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "  refused (%s): %s\n", type, message.c_str());
  std::string body = message;
  while (!body.empty() && body.back() == '\n') body.pop_back();
  if (body.empty()) finding(std::string(type) + " with an empty message");
  if (body.find('\n') != std::string::npos) finding(std::string(type) + " message spans several lines: " + message);
  for (const auto& w : where)
    if (body.find(w) != std::string::npos) return;
  std::string list;
  for (const auto& w : where) list += (list.empty() ? "'" : ", '") + w + "'";
  finding(std::string(type) + " message does not say where (none of " + list + "): " + message);
}

}  // namespace jeffreys::fuzz
