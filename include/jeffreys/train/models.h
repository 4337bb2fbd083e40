#pragma once
/// The one builder of a run's models and trainer from the library's Options: the flow (main
/// model), the energy model (proxy) and the primal-dual Trainer. `jeffreys train` (from its
/// configuration) and the SBI posterior (from PosteriorOptions) translate their settings into these
/// Options and build through here, so both initialise, place and wire the models alike.
#include <torch/types.h>

#include <cstdint>
#include <memory>

#include "jeffreys/constrained/formulation.h"
#include "jeffreys/energy/energy.h"
#include "jeffreys/flows/presets.h"
#include "jeffreys/train/trainer.h"

namespace jeffreys::train {

struct Models {
  flows::Flow flow{nullptr};
  /// Built whatever the method (so the flow's initialisation, and everything after it, is the same
  /// for every method at one seed); a trainer receives it only if its formulation trains it.
  std::shared_ptr<energy::MLPEnergyImpl> energy;
  /// The proxy q_ψ the trainer and the evaluation use: `energy` itself, or with `tilted` a
  /// TiltedEnergy of `energy` over the flow (energy/tilted.h). Null: the proxy is `energy`.
  energy::EnergyPtr proxy;
  energy::EnergyPtr proxy_or_energy() const { return proxy ? proxy : energy; }
};

/// Seeds the global generator with `seed`, builds the flow, then the energy model (the order fixes
/// their initial parameters), and moves both to `device`; `tilted`: the proxy tilts the flow, with
/// `tilt_average` in (0, 1) a moving average of it (method suffix -T<d>; 0: the flow itself).
Models make_models(const flows::FlowOptions& flow, const energy::MLPEnergyOptions& energy, uint64_t seed,
                   const torch::Device& device = torch::kCPU, bool tilted = false, double tilt_average = 0);

/// The primal-dual trainer of `models` for `formulation`; the proxy takes part only when the
/// formulation uses P, R or W.
std::unique_ptr<Trainer> make_trainer(const Models& models, const constrained::Formulation& formulation,
                                      const TrainerOptions& options);

}  // namespace jeffreys::train
