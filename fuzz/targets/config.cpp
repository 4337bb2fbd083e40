// The run configuration reader: a TOML file, then `--set` overrides (one per line of the second
// part). A configuration it accepts must survive its own round trip through to_toml.
#include "app/config/config.h"
#include "fuzz_target.h"

namespace {
using namespace jeffreys;

void fuzz_config(const uint8_t* data, size_t size) {
  const auto parts = fuzz::split_parts(data, size, 2);
  const auto dir = fuzz::scratch_dir();
  const auto path = fuzz::write_file(dir, "config.toml", parts[0]);
  const auto sets = fuzz::lines(parts[1]);
  fuzz::expect_clean(
      [&] {
        const auto config = app::load_config(path, sets);
        const auto again = fuzz::write_file(dir, "resolved.toml", config.to_toml());
        const auto reread = app::load_config(again);
        if (!(reread == config))
          fuzz::finding("the resolved configuration reads back differently: " + app::first_difference(config, reread));
      },
      {"config.toml", "--set"});
}
}  // namespace

JEFFREYS_FUZZ_TARGET("config", fuzz_config)
