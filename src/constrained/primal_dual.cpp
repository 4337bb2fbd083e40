#include "jeffreys/constrained/primal_dual.h"

#include <torch/torch.h>

#include <algorithm>
#include <stdexcept>

namespace jeffreys::constrained {

PrimalDual::PrimalDual(Formulation f) : formulation_(std::move(f)) {
  for (const auto& c : formulation_.constraints) {
    DualState d;
    d.lambda = c.dual_init;
    d.slack = c.resilient ? std::max(0.0, c.dual_init / c.slack_cost) : 0.0;
    duals_.push_back(d);
  }
}

std::map<std::string, double> PrimalDual::coefficients(Target model) const {
  std::map<std::string, double> coef;
  for (const auto& o : formulation_.objective)
    if (o.target == Target::both || model == Target::both || o.target == model) coef[o.term] += o.weight;
  for (size_t i = 0; i < duals_.size(); ++i) coef[formulation_.constraints[i].term] += duals_[i].lambda;
  return coef;
}

bool PrimalDual::split_by_model() const {
  for (const auto& o : formulation_.objective)
    if (o.target != Target::both && o.weight != 0) return true;
  return false;
}

torch::Tensor PrimalDual::lagrangian(const std::map<std::string, torch::Tensor>& terms, Target model) const {
  torch::Tensor loss;
  for (const auto& [name, c] : coefficients(model)) {
    if (c == 0) continue;
    auto it = terms.find(name);
    if (it == terms.end() || !it->second.defined())
      throw std::invalid_argument("lagrangian: term '" + name + "' has coefficient " + std::to_string(c) +
                                  " but was not computed");
    auto scaled = c == 1.0 ? it->second : it->second * c;
    loss = loss.defined() ? loss + scaled : scaled;
  }
  TORCH_CHECK(loss.defined(), "lagrangian: the formulation '", formulation_.name, "' has no active term");
  return loss;
}

void PrimalDual::dual_step(const std::map<std::string, double>& values) {
  auto value = [&](const std::string& t) {
    auto it = values.find(t);
    if (it == values.end()) throw std::invalid_argument("dual_step: no value for term '" + t + "'");
    return it->second;
  };
  for (size_t i = 0; i < duals_.size(); ++i) {
    const auto& c = formulation_.constraints[i];
    auto& d = duals_[i];
    d.level = c.level + (c.entropy_level ? data_entropy_ : 0.0) + (c.relative_to.empty() ? 0.0 : value(c.relative_to));
    d.slack = c.resilient ? std::max(0.0, d.lambda / c.slack_cost) : 0.0;
    d.violation = value(c.term) - d.level - d.slack;
    d.lambda = std::max(0.0, d.lambda + c.dual_lr * d.violation);
  }
}

double PrimalDual::slack_penalty() const {
  double s = 0;
  for (size_t i = 0; i < duals_.size(); ++i)
    if (formulation_.constraints[i].resilient) s += 0.5 * formulation_.constraints[i].slack_cost * duals_[i].slack * duals_[i].slack;
  return s;
}

void PrimalDual::save(torch::serialize::OutputArchive& archive) const {
  auto d = torch::zeros({static_cast<int64_t>(duals_.size()), 4}, torch::kDouble);
  for (size_t i = 0; i < duals_.size(); ++i) {
    d[i][0] = duals_[i].lambda;
    d[i][1] = duals_[i].slack;
    d[i][2] = duals_[i].violation;
    d[i][3] = duals_[i].level;
  }
  archive.write("duals", d);
}

void PrimalDual::load(torch::serialize::InputArchive& archive) {
  torch::Tensor d;
  archive.read("duals", d);
  if (d.dim() != 2 || d.size(0) != static_cast<int64_t>(duals_.size()) || d.size(1) != 4)
    throw std::invalid_argument("has " + std::to_string(d.dim() == 2 ? d.size(0) : -1) + " dual variables, the method has " +
                                std::to_string(duals_.size()));
  d = d.to(torch::kDouble);
  for (size_t i = 0; i < duals_.size(); ++i) {
    duals_[i].lambda = d[i][0].item<double>();
    duals_[i].slack = d[i][1].item<double>();
    duals_[i].violation = d[i][2].item<double>();
    duals_[i].level = d[i][3].item<double>();
  }
}

}  // namespace jeffreys::constrained
