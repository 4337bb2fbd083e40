// Replays fuzz inputs through the targets without libFuzzer, so that any compiler's build (and the
// sanitizer build) checks the committed corpus:
//   jeffreys_fuzz <target> <file or folder>...   every file given, and every file in each folder
//   jeffreys_fuzz --list                         the targets
//   jeffreys_fuzz --write-checkpoint-seed <file>  a real checkpoint of the checkpoint target's models
// Exits 0 when every input ended cleanly; a finding aborts (as under libFuzzer).
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_target.h"
#include "jeffreys/train/trainer.h"

namespace jeffreys::fuzz {
std::unique_ptr<train::Trainer> checkpoint_trainer();  // targets/checkpoint.cpp
}

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const auto& targets = jeffreys::fuzz::targets();
  if (argc == 2 && std::string(argv[1]) == "--list") {
    for (const auto& [name, fn] : targets) std::printf("%s\n", name.c_str());
    return 0;
  }
  if (argc == 3 && std::string(argv[1]) == "--write-checkpoint-seed") {
    torch::manual_seed(0);
    const auto trainer = jeffreys::fuzz::checkpoint_trainer();
    for (int i = 0; i < 2; ++i) trainer->step(torch::randn({16, 2}));
    trainer->save(argv[2]);
    return 0;
  }
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <target> <file or folder>... | --list\n", argv[0]);
    return 2;
  }
  const auto t = targets.find(argv[1]);
  if (t == targets.end()) {
    std::fprintf(stderr, "%s: no target '%s' (--list names them)\n", argv[0], argv[1]);
    return 2;
  }
  torch::set_num_threads(1);
  std::vector<fs::path> files;
  for (int i = 2; i < argc; ++i) {
    if (fs::is_directory(argv[i])) {
      for (const auto& e : fs::directory_iterator(argv[i]))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.emplace_back(argv[i]);
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "%s: no inputs\n", argv[0]);
    return 2;
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], f.c_str());
      return 2;
    }
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "%s\n", f.c_str());
    t->second(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("%s: %zu inputs replayed, no finding\n", argv[1], files.size());
  return 0;
}
