#include "app/sweeps/commands.h"

namespace jeffreys::app {

std::vector<std::string> train_command(const std::string& config_file, const std::string& run_dir) {
  return {"train", "--config", config_file, "--out", run_dir, "--resume"};
}

std::vector<std::string> sbi_command(const std::string& task, int64_t budget, const std::string& method, uint64_t seed,
                                     const std::string& observations_dir, const std::vector<int>& observations,
                                     const std::vector<std::string>& extra, const std::string& run_dir) {
  std::vector<std::string> args = {"sbi",    "--task",         task,   "--budget", std::to_string(budget),
                                   "--method", method,         "--seed", std::to_string(seed),
                                   "--observations", observations_dir, "--out", run_dir};
  for (int k : observations) {
    args.push_back("--observation");
    args.push_back(std::to_string(k));
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

}  // namespace jeffreys::app
