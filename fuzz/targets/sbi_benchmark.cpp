// The SBI benchmark file (benchmark.toml). Its observations_root is replaced, as
// JEFFREYS_SBIBM_DIR replaces it for users, by a scratch folder with an empty folder per task, so
// that the reader goes past the folder check on any machine.
#include <cstdlib>
#include <filesystem>

#include "app/studies/sbi_benchmark.h"
#include "fuzz_target.h"
#include "jeffreys/simulators/task.h"

namespace {
using namespace jeffreys;

void fuzz_sbi_benchmark(const uint8_t* data, size_t size) {
  const auto dir = fuzz::scratch_dir();
  for (const auto& task : simulators::task_names()) std::filesystem::create_directories(dir + "/sbibm/" + task + "/obs_1");
  ::setenv("JEFFREYS_SBIBM_DIR", (dir + "/sbibm").c_str(), 1);
  const auto path = fuzz::write_file(dir, "benchmark.toml", {reinterpret_cast<const char*>(data), size});
  fuzz::expect_clean(
      [&] {
        const auto c = app::load_sbi_benchmark(path);
        for (const auto& task : c.tasks)
          if (c.budgets_for(task).empty()) fuzz::finding("a task with no budget was accepted: " + task);
      },
      {"benchmark.toml"});
}
}  // namespace

JEFFREYS_FUZZ_TARGET("sbi_benchmark", fuzz_sbi_benchmark)
