#pragma once
/// Lagrangian and projected dual ascent for a Formulation. The primal loss for the current
/// multipliers is L = Σ w_k T_k + Σ_c λ_c T_c; after the primal step, each resilient slack is set
/// to its exact minimiser u = max(0, λ/α) and λ ← max(0, λ + η (T - level - u)).
#include <torch/serialize/archive.h>
#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

#include "jeffreys/constrained/formulation.h"

namespace jeffreys::constrained {

struct DualState {
  double lambda = 0;
  double slack = 0;
  /// Last T - level - u seen by dual_step (positive: violated).
  double violation = 0;
  /// Last resolved level (absolute, including the relative part).
  double level = 0;
};

class PrimalDual {
 public:
  explicit PrimalDual(Formulation formulation);

  /// Coefficient of each term in the primal loss of one model (weights plus multipliers).
  std::map<std::string, double> coefficients(Target model) const;
  /// Σ coefficient_k T_k over the given terms for `model` (Target::both: terms with equal
  /// coefficients for both models). Terms missing from `terms` must have coefficient 0.
  torch::Tensor lagrangian(const std::map<std::string, torch::Tensor>& terms, Target model = Target::both) const;
  /// Whether some term is weighted differently for the two models (then they need separate backward passes).
  bool split_by_model() const;
  /// Slack update then projected dual ascent, from detached term values.
  void dual_step(const std::map<std::string, double>& values);

  const std::vector<DualState>& duals() const { return duals_; }
  std::vector<DualState>& mutable_duals() { return duals_; }
  const Formulation& formulation() const { return formulation_; }
  /// Ĥ(π), added to the level of every constraint with entropy_level (0 until set). Not part of
  /// the checkpoint: it is an estimate from the training data, recomputed when a run is opened.
  void set_data_entropy(double h) { data_entropy_ = h; }
  double data_entropy() const { return data_entropy_; }
  /// The slack cost Σ (α/2) u², reported with the objective.
  double slack_penalty() const;

  /// The state of the dual variables, as LibTorch's optimisers keep theirs: written into and read
  /// from a checkpoint archive under "duals" (a [constraints, 4] float64 tensor: λ, slack, last
  /// violation, last level). load throws std::invalid_argument when the archive's constraints do
  /// not match the formulation's.
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  Formulation formulation_;
  std::vector<DualState> duals_;
  double data_entropy_ = 0;
};

}  // namespace jeffreys::constrained
