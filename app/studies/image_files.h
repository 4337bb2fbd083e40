#pragma once
// Internal to app/studies: the file layout of an image study's folder and the small readers its run
// and its report share.
#include <torch/torch.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/report/table.h"
#include "app/studies/image_study.h"

namespace jeffreys::app::image_files {

/// `out`/autoencoder_d<d>: the autoencoder of latent size d, its codes and summary.
inline std::string ae_dir(const std::string& out, int64_t d) { return out + "/autoencoder_d" + std::to_string(d); }

/// A latent run's name (and folder under runs/): <arm>__d<d>__s<seed> on every training code,
/// <arm>__d<d>__n<n>__s<seed> on a subset of n codes.
inline std::string run_name(const std::string& arm, int64_t d, int64_t n_train, uint64_t seed) {
  return arm + "__d" + std::to_string(d) + (n_train > 0 ? "__n" + std::to_string(n_train) : std::string()) + "__s" +
         std::to_string(seed);
}

/// One latent model of the study: an arm on the codes of latent size d (n_train of them; 0: all) with a seed.
struct LatentRun {
  const LatentArm* arm;
  int64_t d, n_train;
  uint64_t seed;
  std::string name() const { return run_name(arm->name, d, n_train, seed); }
};

/// Every latent run in the plan's order (seed, latent size, training-set size, arm); with `only_d`
/// those of one latent size. The plan, the scoring and the report all enumerate the study so.
inline std::vector<LatentRun> latent_runs(const ImageStudyConfig& c, int64_t only_d = -1) {
  std::vector<LatentRun> runs;
  for (uint64_t seed : c.latent.seeds)
    for (auto d : c.latent.latent_dims)
      for (auto n : c.latent.n_train)
        for (const auto& arm : c.latent.arms)
          if (only_d < 0 || d == only_d) runs.push_back({&arm, d, n, seed});
  return runs;
}

/// The suffix of a latent size's (and subset's) figures: _d<d> or _d<d>_n<n>.
inline std::string cell_suffix(int64_t d, int64_t n_train) {
  return "_d" + std::to_string(d) + (n_train > 0 ? "_n" + std::to_string(n_train) : std::string());
}

/// The lowest pixel value of the study's range.
inline double pixel_low(const ImageStudyConfig& c) { return c.data.range == "symmetric" ? -1.0 : 0.0; }

/// What `out`/results.csv records. A clone has the tables, not the run folders: a planned run whose
/// folder is not here but whose rows are recorded counts as finished (it is not trained again and
/// the report keeps its rows); rows of runs the study no longer plans are kept as they are.
struct RecordedRuns {
  CsvTable table;
  std::map<std::string, std::vector<size_t>> planned;  ///< run name -> its rows, for runs with no folder
  std::vector<size_t> unplanned;                        ///< rows of runs the study does not plan
};
RecordedRuns recorded_runs(const ImageStudyConfig& c, const std::string& out);

/// Which classifier scored FID, precision and recall: the CRC-32 of `out`/classifier/model.pt, 8 hex
/// digits. Two trainings of the same recipe are not bit-identical (FID moves by about one), so scores
/// carry it and the report never averages scores of two classifiers. "unrecorded" for scores written
/// before it was kept.
std::string classifier_fingerprint(const std::string& out);
inline constexpr const char* kUnrecordedClassifier = "unrecorded";

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read '" + path + "'");
  return nlohmann::json::parse(in);
}

}  // namespace jeffreys::app::image_files
