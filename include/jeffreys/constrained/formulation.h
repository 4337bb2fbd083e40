#pragma once
/// What is optimised (METHOD.md section 3): an objective that is a weighted sum of named terms, and
/// constraints `term <= level (+ slack)`, each hard or resilient, each level absolute or relative to
/// another term's detached value. The named methods (jeffreys, mle-flow, ...) are presets of this.
#include <string>
#include <vector>

namespace jeffreys::constrained {

/// Which model's parameters a weighted term's gradient reaches.
enum class Target { both, main, proxy };

struct ObjectiveTerm {
  std::string term;
  double weight = 1.0;
  Target target = Target::both;
};

struct Constraint {
  std::string term;
  /// ε: the level is `level`, plus the detached value of `relative_to` when that is set.
  double level = 0.0;
  std::string relative_to;
  /// Plus the data's entropy estimate Ĥ(π) (PrimalDual::set_data_entropy): for F and P, whose
  /// values are cross-entropies, the level then sits on the KL scale, F - Ĥ = KL(π‖p_θ) + const.
  bool entropy_level = false;
  /// Resilient: the level relaxes by a slack u >= 0 that costs (slack_cost / 2) u² (α in METHOD.md).
  bool resilient = true;
  double slack_cost = 1.0;
  /// Dual ascent step η_λ and initial multiplier λ0.
  double dual_lr = 0.01;
  double dual_init = 1.0;
};

struct Formulation {
  std::string name;
  std::vector<ObjectiveTerm> objective;
  std::vector<Constraint> constraints;
  /// How the entropy estimate for `entropy_level` is made (-Hc): the k-NN estimate capped by the
  /// Gaussian maximum-entropy bound (metrics::cap_by_gaussian_bound) instead of the k-NN alone.
  bool entropy_capped = false;
  /// -Hn (conditional only): the cap is the smaller of that bound and
  /// metrics::neural_gaussian_conditional_entropy_bound.
  bool entropy_neural_bound = false;

  /// Whether the term appears in the objective or in a constraint (as term or as level).
  bool uses(const std::string& term) const;
  /// Whether it trains the energy model (the proxy): it uses P or R.
  bool uses_proxy() const { return uses("P") || uses("R") || uses("W"); }
  /// Whether some constraint's level adds the data's entropy estimate.
  bool uses_entropy_level() const;
  /// Throws std::invalid_argument naming the offending entry (unknown term, negative step, ...).
  void validate(const std::vector<std::string>& known_terms) const;
};

/// Presets, by name:
/// - "jeffreys": 0.25·F + R subject to P <= F (relative, resilient, α = 1, η = 0.01, λ0 = 1);
/// - "mle-flow": F alone (no proxy);
/// - "mle-ebm": P, with R sent to the flow only so that it tracks the energy as importance proposal;
/// - "fixed-penalty": 0.25·F + R + 1·P, no duals (the default's terms with fixed weights);
/// - "mle-r-constraint": F + P subject to R <= 0.1 (absolute, resilient, α = 1, η = 0.01, λ0 = 1);
/// - "three-dual": F, P and R each as resilient constraints (level 0, α = 1), objective the slack costs;
/// - "paper": the formulation the first author presented (METHOD.md section 3a): F <= ε_fw, R <= ε_rv,
///   P <= ε_prx, each resilient with slack cost ε² (α = 2), λ0 = 1, η = 0.01; objective the slack cost
///   alone. Method-name suffixes add the entropy-corrected levels (-H) and the fourth constraint (-W<c>).
Formulation formulation_by_name(const std::string& name);
/// The terms a formulation may name: F, P, R (METHOD.md section 2) and W = log(M / ESS), the
/// degeneracy of the importance weights behind log Ẑ (0 when they are equal, log M at worst).
std::vector<std::string> term_names();
std::vector<std::string> formulation_names();

}  // namespace jeffreys::constrained
