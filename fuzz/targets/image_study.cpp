// The image study file (image_study.toml with the latent models' run configuration latent.toml).
#include "app/studies/image_study.h"
#include "fuzz_target.h"

namespace {
using namespace jeffreys;

void fuzz_image_study(const uint8_t* data, size_t size) {
  const auto parts = fuzz::split_parts(data, size, 2);
  const auto dir = fuzz::scratch_dir();
  const auto path = fuzz::write_file(dir, "image_study.toml", parts[0]);
  fuzz::write_file(dir, "latent.toml", parts[1]);
  fuzz::expect_clean([&] { app::load_image_study(path); }, {"image_study.toml", "latent.toml"});
}
}  // namespace

JEFFREYS_FUZZ_TARGET("image_study", fuzz_image_study)
