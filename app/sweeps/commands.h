#pragma once
/// The command lines a sweep launches, in one place: the contract between the sweeps and the
/// `jeffreys` commands they run as child processes (cli/ defines the same flags).
#include <cstdint>
#include <string>
#include <vector>

namespace jeffreys::app {

/// `jeffreys train --config <config_file> --out <run_dir> --resume`: trains, or continues, one run.
std::vector<std::string> train_command(const std::string& config_file, const std::string& run_dir);

/// `jeffreys sbi --task ... --budget ... --method ... --seed ... --observations ... --out ...`, with
/// `--observation k` for each of `observations` and then `extra` arguments.
std::vector<std::string> sbi_command(const std::string& task, int64_t budget, const std::string& method, uint64_t seed,
                                     const std::string& observations_dir, const std::vector<int>& observations,
                                     const std::vector<std::string>& extra, const std::string& run_dir);

}  // namespace jeffreys::app
