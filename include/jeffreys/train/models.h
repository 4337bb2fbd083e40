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
};

/// Seeds the global generator with `seed`, builds the flow, then the energy model (the order fixes
/// their initial parameters), and moves both to `device`.
Models make_models(const flows::FlowOptions& flow, const energy::MLPEnergyOptions& energy, uint64_t seed,
                   const torch::Device& device = torch::kCPU);

/// The primal-dual trainer of `models` for `formulation`; the energy model takes part only when the
/// formulation uses P or R.
std::unique_ptr<Trainer> make_trainer(const Models& models, const constrained::Formulation& formulation,
                                      const TrainerOptions& options);

}  // namespace jeffreys::train
