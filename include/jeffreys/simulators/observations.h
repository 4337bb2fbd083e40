#pragma once
/// The observations of a benchmark task with sbibm's reference posterior samples, read from folders
/// laid out like ../shared/sbibm/<task>/obs_<k>/, so that posteriors can be scored from any directory.
#include <torch/types.h>

#include <string>
#include <vector>

#include "jeffreys/data/errors.h"

namespace jeffreys::simulators {

class Task;

/// One observation and what sbibm knows about it (all float64, CPU; the files hold float32 values).
struct Observation {
  /// The folder it was read from.
  std::string folder;
  /// x_o [1, dim x], from observation.csv.
  torch::Tensor observation;
  /// θ that generated it [1, dim θ], from true_parameters.csv.
  torch::Tensor true_parameters;
  /// Samples of p(θ | x_o) [n, dim θ] (10,000 in sbibm), from reference_posterior_samples.csv.
  torch::Tensor reference_posterior_samples;
};

/// Reads `folder`/observation.csv (one row), true_parameters.csv (one row) and
/// reference_posterior_samples.csv (at least one row); each may be gzip-compressed instead
/// (name.csv.gz, as the repository's data/sbibm ships the samples). Each file is a CSV table of numbers with an
/// optional header row of names (data::read_csv detects it), as sbibm writes them. Throws
/// data::DataError naming the file for a missing folder or file, a malformed one, a wrong number of
/// rows, or widths that disagree (θ's width between the two parameter files).
Observation read_observation(const std::string& folder);

/// As above, and checks the widths against `task`: dim x for the observation and dim θ for the
/// parameter files; DataError names the file, the width found and the width the task needs.
Observation read_observation(const std::string& folder, const Task& task);

/// The observation numbers k of the `obs_<k>` folders directly inside `task_folder`, ascending.
/// Throws data::DataError naming the folder when it does not exist or holds no obs_<k> folder.
std::vector<int> observation_numbers(const std::string& task_folder);

/// `task_folder`/obs_<k>.
std::string observation_folder(const std::string& task_folder, int k);

}  // namespace jeffreys::simulators
