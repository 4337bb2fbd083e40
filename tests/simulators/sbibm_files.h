#pragma once
// Where the tests find sbibm's observations and reference posteriors (the repository's data/sbibm),
// and small readers for them.
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "jeffreys/simulators/observations.h"

namespace sbibm_files {

/// The first folder holding sbibm's task folders: $JEFFREYS_SBIBM_DIR, then the source tree's
/// data/sbibm (as configured); empty if neither has them.
inline std::string root() {
  for (const char* c : {static_cast<const char*>(std::getenv("JEFFREYS_SBIBM_DIR")), static_cast<const char*>(JEFFREYS_SBIBM_DIR)})
    if (c != nullptr && *c != '\0' && std::filesystem::exists(std::string(c) + "/two_moons/obs_1")) return c;
  return "";
}

inline std::string task_folder(const std::string& task) { return root() + "/" + task; }

inline std::string obs_folder(const std::string& task, int k) {
  return jeffreys::simulators::observation_folder(task_folder(task), k);
}

inline jeffreys::simulators::Observation read(const std::string& task, int k) {
  return jeffreys::simulators::read_observation(obs_folder(task, k));
}

}  // namespace sbibm_files

/// Tests that read sbibm's files are skipped, saying why, where the files are not present.
#define SKIP_WITHOUT_SBIBM()                                                                               \
  if (sbibm_files::root().empty())                                                                         \
  GTEST_SKIP() << "sbibm's files not found (the repository's data/sbibm); set JEFFREYS_SBIBM_DIR"
