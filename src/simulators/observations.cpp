#include "jeffreys/simulators/observations.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "jeffreys/data/csv.h"
#include "jeffreys/simulators/task.h"

namespace jeffreys::simulators {

namespace {

namespace fs = std::filesystem;

/// `dir`/`name`, or its gzip-compressed twin `name`.gz when only that exists (how the repository
/// ships the reference posterior samples).
fs::path table_file(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  const auto plain = dir / name, packed = dir / (name + ".gz");
  return !fs::exists(plain, ec) && fs::exists(packed, ec) ? packed : plain;
}

torch::Tensor read_table(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw data::DataError(path.string() + ": file not found");
  return data::read_csv(path.string()).to(torch::kDouble);
}

torch::Tensor read_one_row(const fs::path& path) {
  auto t = read_table(path);
  if (t.size(0) != 1)
    throw data::DataError(path.string() + ": expected one data row, found " + std::to_string(t.size(0)));
  return t;
}

void check_width(const torch::Tensor& t, int64_t width, const fs::path& path, const std::string& what) {
  if (t.size(1) != width)
    throw data::DataError(path.string() + ": " + std::to_string(t.size(1)) + " columns, but " + what + " has " +
                          std::to_string(width));
}

}  // namespace

Observation read_observation(const std::string& folder) {
  const fs::path dir(folder);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw data::DataError(folder + ": observation folder not found");
  Observation o;
  o.folder = folder;
  o.observation = read_one_row(table_file(dir, "observation.csv"));
  const auto true_path = table_file(dir, "true_parameters.csv");
  const auto ref_path = table_file(dir, "reference_posterior_samples.csv");
  o.true_parameters = read_one_row(true_path);
  o.reference_posterior_samples = read_table(ref_path);
  check_width(o.reference_posterior_samples, o.true_parameters.size(1), ref_path,
              "true_parameters.csv (dim θ)");
  return o;
}

Observation read_observation(const std::string& folder, const Task& task) {
  auto o = read_observation(folder);
  const fs::path dir(folder);
  const std::string who = "task " + task.name();
  check_width(o.observation, task.data_dim(), table_file(dir, "observation.csv"), who + " (dim x)");
  check_width(o.true_parameters, task.parameter_dim(), table_file(dir, "true_parameters.csv"), who + " (dim θ)");
  check_width(o.reference_posterior_samples, task.parameter_dim(), table_file(dir, "reference_posterior_samples.csv"),
              who + " (dim θ)");
  return o;
}

std::vector<int> observation_numbers(const std::string& task_folder) {
  std::error_code ec;
  if (!fs::is_directory(task_folder, ec)) throw data::DataError(task_folder + ": task folder not found");
  std::vector<int> numbers;
  for (const auto& entry : fs::directory_iterator(task_folder, ec)) {
    const auto name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind("obs_", 0) != 0 || name.size() == 4) continue;
    const auto digits = name.substr(4);
    if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    numbers.push_back(std::stoi(digits));
  }
  if (ec) throw data::DataError(task_folder + ": cannot list the folder (" + ec.message() + ")");
  if (numbers.empty()) throw data::DataError(task_folder + ": no obs_<k> folders");
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

std::string observation_folder(const std::string& task_folder, int k) {
  return (fs::path(task_folder) / ("obs_" + std::to_string(k))).string();
}

}  // namespace jeffreys::simulators
