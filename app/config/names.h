#pragma once
/// Every name a configuration, a study file or the command line accepts, by kind, from the
/// library's own lists: one place to look a name up, list the choices and word the error.
#include <string>
#include <vector>

namespace jeffreys::app {

enum class NameKind { flow_family, activation, permutation, schedule, dataset, task, method };

/// The accepted names of `kind`, in the library's order. `dataset` is the built-in 2-D data sets
/// and "csv"; `method` is the formulation presets and "wgan-gp".
std::vector<std::string> names_of(NameKind kind);

bool is_name(NameKind kind, const std::string& name);

/// "must be one of a, b, c".
std::string one_of_message(NameKind kind);

}  // namespace jeffreys::app
