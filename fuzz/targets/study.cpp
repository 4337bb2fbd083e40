// The 2D study file (study.toml with its base run configuration base.toml, then --set lines).
#include "app/studies/study.h"
#include "fuzz_target.h"

namespace {
using namespace jeffreys;

void fuzz_study(const uint8_t* data, size_t size) {
  const auto parts = fuzz::split_parts(data, size, 3);
  const auto dir = fuzz::scratch_dir();
  const auto path = fuzz::write_file(dir, "study.toml", parts[0]);
  fuzz::write_file(dir, "base.toml", parts[1]);
  const auto sets = fuzz::lines(parts[2]);
  fuzz::expect_clean(
      [&] {
        const auto study = app::load_study(path, sets);
        for (const auto& run : app::plan_study(study))
          if (run.name.empty() || run.name.find('/') != std::string::npos || run.name.find("..") != std::string::npos)
            fuzz::finding("a planned run name could leave the study folder: '" + run.name + "'");
      },
      {"study.toml", "base.toml", "--set"});
}
}  // namespace

JEFFREYS_FUZZ_TARGET("study", fuzz_study)
