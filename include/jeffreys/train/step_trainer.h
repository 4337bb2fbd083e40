#pragma once
/// What every trainer of the library offers a training loop: one step on a data set returning its
/// named numbers, the names it reports, a step counter and a checkpoint. The joint primal-dual
/// Trainer (every formulation, maximum likelihood included) and the WGAN-GP baseline implement it,
/// so a loop, a run folder or a metrics file needs no case for each.
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace jeffreys::train {

class StepTrainer {
 public:
  virtual ~StepTrainer() = default;
  /// One step on a batch drawn from `data` [N, D]: the step's named numbers, one per columns()
  /// entry (NaN for a number this step did not compute). Throws TrainingDiverged.
  virtual std::map<std::string, double> step_metrics(const torch::Tensor& data) = 0;
  /// The names step_metrics reports, in a fixed order (a metrics file's columns).
  virtual std::vector<std::string> columns() const = 0;
  virtual int64_t step_count() const = 0;
  /// The whole training state, written atomically; load throws CheckpointError on a mismatch.
  virtual void save(const std::string& path) const = 0;
  virtual void load(const std::string& path) = 0;
};

}  // namespace jeffreys::train
