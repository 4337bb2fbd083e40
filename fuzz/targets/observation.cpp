// The sbibm observation folder reader: observation.csv, true_parameters.csv and
// reference_posterior_samples.csv (three parts), read alone and checked against two_moons.
#include <torch/torch.h>

#include "fuzz_target.h"
#include "jeffreys/simulators/observations.h"
#include "jeffreys/simulators/task.h"

namespace {
using namespace jeffreys;

void fuzz_observation(const uint8_t* data, size_t size) {
  static const auto task = simulators::make_task("two_moons");
  const auto parts = fuzz::split_parts(data, size, 3);
  const auto dir = fuzz::scratch_dir();
  fuzz::write_file(dir, "observation.csv", parts[0]);
  fuzz::write_file(dir, "true_parameters.csv", parts[1]);
  fuzz::write_file(dir, "reference_posterior_samples.csv", parts[2]);
  const std::vector<std::string> where = {"observation.csv", "true_parameters.csv", "reference_posterior_samples.csv"};
  fuzz::expect_clean(
      [&] {
        const auto o = simulators::read_observation(dir);
        if (o.observation.size(0) != 1 || o.true_parameters.size(0) != 1 ||
            o.true_parameters.size(1) != o.reference_posterior_samples.size(1))
          fuzz::finding("read_observation accepted tables of inconsistent shapes");
      },
      where);
  fuzz::expect_clean(
      [&] {
        const auto o = simulators::read_observation(dir, *task);
        if (o.observation.size(1) != task->data_dim() || o.true_parameters.size(1) != task->parameter_dim())
          fuzz::finding("read_observation accepted widths the task does not have");
      },
      where);
}
}  // namespace

JEFFREYS_FUZZ_TARGET("observation", fuzz_observation)
