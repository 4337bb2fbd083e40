#pragma once
/// The one grammar of method names, used by `jeffreys train`, `jeffreys sbi`, the studies and the
/// library's posterior estimator alike: "<preset>[-F<w>][-H|-Hc|-Hn][-W<c>][-T[<d>]][-K<k>][-S<n>][-E<n>][-warm]", plus "npe"
/// (an alias of mle-flow, sbi's name for it) and "wgan-gp" (the adversarial baseline, no formulation).
/// -F<w> sets the forward term's weight (METHOD.md section 7: the knob that matters most); -H puts
/// the absolute constraints on F and P on the KL scale (their levels plus the data's entropy
/// estimate; -Hc the same with the k-NN estimate capped by a Gaussian bound, metrics/entropy.h; -Hn, conditional only, capped by the smaller of that bound and a neural Gaussian's); -W<c> adds the constraint ESS / M >= c on the importance sampler (term W); -T makes
/// the proxy a tilt of the flow (energy/tilted.h), -T<d> of a moving average of the flow with
/// decay d in (0, 1); -K<k> the
/// flow samples per context, -S<n> computes P and R on n random contexts of each batch (F on all),
/// -E<n> a learned context embedding of n features, -warm trains F and P first and switches the
/// reverse term on when that stops improving (the last four: conditional training, sbi::PosteriorOptions).
#include <cstdint>
#include <string>

#include "jeffreys/constrained/formulation.h"

namespace jeffreys::constrained {

struct MethodName {
  /// The formulation (named by the full method name); empty for wgan-gp.
  Formulation formulation;
  bool wgan = false;
  /// -F<w> was given.
  bool forward_weighted = false;
  int64_t flow_samples = 0;  ///< -K<k>; 0: not given
  int64_t embedding = 0;     ///< -E<n>; 0: not given
  int64_t proxy_rows = 0;    ///< -S<n>; 0: not given
  bool warm = false;         ///< -warm
  bool entropy_levels = false;  ///< -H, -Hc or -Hn
  bool entropy_capped = false;  ///< -Hc or -Hn
  bool entropy_neural = false;  ///< -Hn
  double ess_floor = 0;         ///< -W<c>; 0: not given
  bool tilted_proxy = false;    ///< -T or -T<d>
  double tilt_average = 0;      ///< -T<d>: the decay of θ̄'s moving average; 0: θ̄ is the flow itself
  /// Whether a suffix only conditional training knows (-K, -S, -E, -warm, -Hn) was given.
  bool conditional_only() const { return flow_samples > 0 || embedding > 0 || proxy_rows > 0 || warm || entropy_neural; }
};

/// Parses a method name; throws std::invalid_argument naming the method and, for an unknown
/// preset, listing the presets.
MethodName parse_method_name(const std::string& method);

}  // namespace jeffreys::constrained
