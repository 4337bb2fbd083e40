#pragma once
// Where the tests find sbibm's observations and reference posteriors (../shared/sbibm beside the
// repository; never copied into it), and small readers for them.
#include <torch/torch.h>

#include <string>

#include "jeffreys/simulators/observations.h"

namespace sbibm_files {

inline std::string root() { return JEFFREYS_SBIBM_DIR; }

inline std::string task_folder(const std::string& task) { return root() + "/" + task; }

inline std::string obs_folder(const std::string& task, int k) {
  return jeffreys::simulators::observation_folder(task_folder(task), k);
}

inline jeffreys::simulators::Observation read(const std::string& task, int k) {
  return jeffreys::simulators::read_observation(obs_folder(task, k));
}

}  // namespace sbibm_files
