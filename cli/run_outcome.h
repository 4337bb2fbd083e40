#pragma once
// Internal to cli/: what `train` and `demo` print about a finished run.
#include <ostream>

#include "app/runs/run.h"

namespace jeffreys::cli {

void print_outcome(const app::RunSummary& r, std::ostream& out);

}  // namespace jeffreys::cli
