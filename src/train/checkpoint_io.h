#pragma once
// Internal: the pieces of a checkpoint that Trainer and WganGpTrainer share (a model's flat
// parameters, its Adam moments and buffers; the atomic write), so both formats stay alike.
#include <torch/torch.h>

#include <string>

#include "jeffreys/constrained/primal_dual.h"
#include "jeffreys/train/errors.h"
#include "jeffreys/train/flat_adam.h"

namespace jeffreys::train::detail {

/// The format version of a checkpoint, under "jeffreys_checkpoint_version" (a name no model entry can
/// take; checkpoints written before it was introduced have it under "version").
void write_version(torch::serialize::OutputArchive& a, int64_t version);

/// Writes `prefix`/values, exp_avg, exp_avg_sq, adam_step and the module's buffers.
void write_model(torch::serialize::OutputArchive& a, const std::string& prefix, const torch::nn::Module* m,
                 const FlatParameters& p, const FlatAdam& opt);

/// Reads an archive written by save_archive; every entry is checked for presence and shape.
class CheckpointReader {
 public:
  explicit CheckpointReader(std::string path);
  torch::Tensor read(const std::string& key);
  bool try_read(const std::string& key, c10::IValue& v) { return a_.try_read(key, v); }
  /// Copies `key` into `dst` after checking the shape.
  void assign(torch::Tensor& dst, const std::string& key);
  void read_model(const std::string& prefix, torch::nn::Module* m, FlatParameters& p, FlatAdam& opt);
  /// Fails unless the checkpoint's format version (write_version) is `expected`.
  void require_version(int64_t expected);
  /// The dual variables (PrimalDual::load), a mismatch reported as a CheckpointError naming the file.
  void load_state(constrained::PrimalDual& primal_dual);
  [[noreturn]] void fail(const std::string& what) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  torch::serialize::InputArchive a_;
};

/// Writes atomically (core/atomic_file.h): an interruption never leaves a partial file at `path`.
void save_archive(torch::serialize::OutputArchive& a, const std::string& path);

}  // namespace jeffreys::train::detail
