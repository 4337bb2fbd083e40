#include "app/config/names.h"

#include <algorithm>

#include "jeffreys/constrained/formulation.h"
#include "jeffreys/data/toy2d.h"
#include "jeffreys/flows/presets.h"
#include "jeffreys/nn/activation.h"
#include "jeffreys/simulators/task.h"
#include "jeffreys/train/schedule.h"

namespace jeffreys::app {

std::vector<std::string> names_of(NameKind kind) {
  switch (kind) {
    case NameKind::flow_family: return flows::flow_family_names();
    case NameKind::activation: return nn::activation_names();
    case NameKind::permutation: return flows::permutation_names();
    case NameKind::schedule: return train::schedule_names();
    case NameKind::dataset: {
      auto n = data::toy2d_names();
      n.push_back("csv");
      return n;
    }
    case NameKind::task: return simulators::task_names();
    case NameKind::method: {
      auto n = constrained::formulation_names();
      n.push_back("wgan-gp");
      return n;
    }
  }
  return {};
}

bool is_name(NameKind kind, const std::string& name) {
  const auto n = names_of(kind);
  return std::find(n.begin(), n.end(), name) != n.end();
}

std::string one_of_message(NameKind kind) {
  std::string s;
  for (const auto& n : names_of(kind)) s += (s.empty() ? "" : ", ") + n;
  return "must be one of " + s;
}

}  // namespace jeffreys::app
