#include "jeffreys/train/models.h"

#include <torch/torch.h>

namespace jeffreys::train {

Models make_models(const flows::FlowOptions& flow, const energy::MLPEnergyOptions& energy, uint64_t seed,
                   const torch::Device& device) {
  torch::manual_seed(seed);
  Models m;
  m.flow = flows::make_flow(flow);
  m.energy = std::make_shared<energy::MLPEnergyImpl>(energy);
  m.flow->to(device);
  m.energy->to(device);
  return m;
}

std::unique_ptr<Trainer> make_trainer(const Models& models, const constrained::Formulation& formulation,
                                      const TrainerOptions& options) {
  return std::make_unique<Trainer>(models.flow, formulation.uses_proxy() ? models.energy : nullptr, formulation,
                                   options);
}

}  // namespace jeffreys::train
