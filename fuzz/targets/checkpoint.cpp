// Checkpoint loading (`--resume`): arbitrary bytes as the checkpoint of a small joint run. The seed
// corpus holds a real checkpoint of exactly these models (jeffreys_fuzz --write-checkpoint-seed).
#include <torch/torch.h>

#include "fuzz_target.h"
#include "jeffreys/constrained/formulation.h"
#include "jeffreys/train/models.h"

namespace jeffreys::fuzz {

/// The trainer whose checkpoints the target reads: a 2-D RealNVP flow and MLP energy, 8 units wide.
std::unique_ptr<train::Trainer> checkpoint_trainer() {
  const auto models = train::make_models(flows::FlowOptions(2).layers(2).hidden(8),
                                         energy::MLPEnergyOptions(2).hidden(8), 0);
  train::TrainerOptions options;
  options.batch_size = 16;
  options.flow_samples = 16;
  return train::make_trainer(models, constrained::formulation_by_name("jeffreys"), options);
}

}  // namespace jeffreys::fuzz

namespace {
using namespace jeffreys;

void fuzz_checkpoint(const uint8_t* data, size_t size) {
  static const auto trainer = fuzz::checkpoint_trainer();
  const auto dir = fuzz::scratch_dir();
  const auto path = fuzz::write_file(dir, "checkpoint.pt", {reinterpret_cast<const char*>(data), size});
  fuzz::expect_clean([&] { trainer->load(path); }, {"checkpoint.pt"});
}
}  // namespace

JEFFREYS_FUZZ_TARGET("checkpoint", fuzz_checkpoint)
