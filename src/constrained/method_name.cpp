#include "jeffreys/constrained/method_name.h"

#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace jeffreys::constrained {

MethodName parse_method_name(const std::string& method) {
  MethodName m;
  if (method == "wgan-gp") {
    m.wgan = true;
    return m;
  }
  std::string rest = method;
  auto strip = [&](const std::string& suffix) {
    if (rest.size() > suffix.size() && rest.compare(rest.size() - suffix.size(), suffix.size(), suffix) == 0) {
      rest.resize(rest.size() - suffix.size());
      return true;
    }
    return false;
  };
  // A trailing "-<letter><number>" with a valid number; nothing consumed otherwise.
  auto number_suffix = [&](char letter, double& value) {
    const auto dash = rest.rfind(std::string("-") + letter);
    if (dash == std::string::npos || dash + 2 >= rest.size()) return false;
    const std::string w = rest.substr(dash + 2);
    char* end = nullptr;
    const double v = std::strtod(w.c_str(), &end);
    if (end == nullptr || *end != '\0' || !(v > 0)) return false;
    value = v;
    rest.resize(dash);
    return true;
  };
  m.warm = strip("-warm");
  double k = 0, w = 0, e = 0;
  if (number_suffix('E', e)) {
    if (e != std::floor(e) || e < 1) throw std::invalid_argument("method '" + method + "': -E needs an integer >= 1");
    m.embedding = static_cast<int64_t>(e);
  }
  double rows = 0;
  if (number_suffix('S', rows)) {
    if (rows != std::floor(rows) || rows < 1) throw std::invalid_argument("method '" + method + "': -S needs an integer >= 1");
    m.proxy_rows = static_cast<int64_t>(rows);
  }
  if (number_suffix('K', k)) {
    if (k != std::floor(k) || k < 2) throw std::invalid_argument("method '" + method + "': -K needs an integer >= 2");
    m.flow_samples = static_cast<int64_t>(k);
  }
  m.forward_weighted = number_suffix('F', w);
  m.formulation = formulation_by_name(rest == "npe" ? "mle-flow" : rest);
  if (m.forward_weighted) {
    bool found = false;
    for (auto& t : m.formulation.objective)
      if (t.term == "F") t.weight = w, found = true;
    if (!found) m.formulation.objective.push_back({"F", w});
  }
  if (m.warm && !m.formulation.uses("R"))
    throw std::invalid_argument("method '" + method + "': -warm needs a formulation with the reverse term R");
  m.formulation.name = method;
  return m;
}

}  // namespace jeffreys::constrained
