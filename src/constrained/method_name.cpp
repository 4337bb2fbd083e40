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
  double decay = 0;
  if (number_suffix('T', decay)) {
    if (!(decay < 1)) throw std::invalid_argument("method '" + method + "': -T<d> needs a moving-average decay in (0, 1)");
    m.tilted_proxy = true;
    m.tilt_average = decay;
  } else {
    m.tilted_proxy = strip("-T");
  }
  double ess_floor = 0;
  if (number_suffix('W', ess_floor)) {
    if (!(ess_floor < 1)) throw std::invalid_argument("method '" + method + "': -W needs a fraction of the flow samples in (0, 1)");
    m.ess_floor = ess_floor;
  }
  if (strip("-Hn")) {
    m.entropy_levels = m.entropy_capped = m.entropy_neural = true;
  } else if (strip("-Hc")) {
    m.entropy_levels = m.entropy_capped = true;
  } else {
    m.entropy_levels = strip("-H");
  }
  m.forward_weighted = number_suffix('F', w);
  m.formulation = formulation_by_name(rest == "npe" ? "mle-flow" : rest);
  if (m.forward_weighted) {
    bool found = false;
    for (auto& t : m.formulation.objective)
      if (t.term == "F") t.weight = w, found = true;
    if (!found) m.formulation.objective.push_back({"F", w});
  }
  if (m.entropy_levels) {
    bool any = false;
    for (auto& c : m.formulation.constraints)
      if ((c.term == "F" || c.term == "P") && c.relative_to.empty()) c.entropy_level = any = true;
    if (!any)
      throw std::invalid_argument("method '" + method + "': -H needs a constraint on F or P with an absolute level");
    m.formulation.entropy_capped = m.entropy_capped;
    m.formulation.entropy_neural_bound = m.entropy_neural;
  }
  if (m.ess_floor > 0) {
    // The fourth constraint, ours (the slides leave h and c undefined): the importance sampler's
    // ESS / M >= c, i.e. W = log(M / ESS) <= -log c, hard, its multiplier starting at 0.
    Constraint c;
    c.term = "W";
    c.level = -std::log(m.ess_floor);
    c.resilient = false;
    c.dual_init = 0.0;
    m.formulation.constraints.push_back(c);
  }
  if (m.tilted_proxy && !m.formulation.uses_proxy())
    throw std::invalid_argument("method '" + method + "': -T (a proxy that tilts the flow) needs a method with a proxy");
  if (m.warm && !m.formulation.uses("R"))
    throw std::invalid_argument("method '" + method + "': -warm needs a formulation with the reverse term R");
  m.formulation.name = method;
  return m;
}

}  // namespace jeffreys::constrained
