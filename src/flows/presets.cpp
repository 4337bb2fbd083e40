#include "jeffreys/flows/presets.h"

#include <torch/torch.h>

#include <stdexcept>

#include "jeffreys/transforms/actnorm.h"
#include "jeffreys/transforms/autoregressive.h"
#include "jeffreys/transforms/coupling.h"
#include "jeffreys/transforms/lu_linear.h"
#include "jeffreys/transforms/permutation.h"

namespace jeffreys::flows {

Flow make_flow(const FlowOptions& o) {
  TORCH_CHECK(o.layers() >= 1, "make_flow: layers must be >= 1, got ", o.layers());
  const bool coupling = o.family() == FlowFamily::realnvp || o.family() == FlowFamily::nsf;
  TORCH_CHECK(!coupling || o.features() >= 2, "make_flow: coupling flows need features >= 2 (use maf for 1D)");
  transforms::Elementwise ew;
  const bool spline = o.family() == FlowFamily::nsf || o.family() == FlowFamily::maf_spline;
  ew.kind = spline ? transforms::ElementwiseKind::rational_quadratic : transforms::ElementwiseKind::affine;
  ew.scale_clamp = o.scale_clamp();
  ew.spline.bins = o.bins();
  ew.spline.bound = o.bound();
  TORCH_CHECK(o.bins() >= 2, "make_flow: bins must be >= 2");
  TORCH_CHECK(o.bound() > 0, "make_flow: bound must be > 0");
  TORCH_CHECK(o.embedding_features() >= 0, "make_flow: embedding_features must be >= 0");
  // What the conditioners see: the embedding's output, or the raw context.
  const int64_t conditioner_context = o.embedding_features() > 0 ? o.embedding_features() : o.context_features();

  std::vector<transforms::TransformPtr> ts;
  for (int64_t l = 0; l < o.layers(); ++l) {
    if (l > 0) {
      if (o.permutation() == PermutationKind::reverse) ts.push_back(transforms::PermutationImpl::reversal(o.features()));
      if (o.permutation() == PermutationKind::random)
        ts.push_back(transforms::PermutationImpl::random(o.features(), o.seed() + static_cast<uint64_t>(l)));
    }
    if (o.actnorm()) ts.push_back(std::make_shared<transforms::ActNormImpl>(o.features()));
    if (o.lu_linear()) ts.push_back(std::make_shared<transforms::LULinearImpl>(o.features()));
    if (coupling) {
      ts.push_back(std::make_shared<transforms::CouplingImpl>(transforms::CouplingOptions(o.features())
                                                                  .context_features(conditioner_context)
                                                                  .swap(l % 2 == 1)
                                                                  .elementwise(ew)
                                                                  .hidden(o.hidden())
                                                                  .depth(o.depth())
                                                                  .activation(o.activation())
                                                                  .zero_init(o.zero_init())));
    } else {
      // Odd layers run the autoregression in reverse order, as couplings alternate their halves.
      std::vector<int64_t> order;
      if (l % 2 == 1)
        for (int64_t i = 0; i < o.features(); ++i) order.push_back(o.features() - i);
      ts.push_back(std::make_shared<transforms::AutoregressiveImpl>(
          transforms::AutoregressiveOptions(o.features())
              .context_features(conditioner_context)
              .elementwise(ew)
              .hidden(o.hidden())
              .depth(o.depth())
              .activation(o.activation())
              .zero_init(o.zero_init())
              .order(order)));
    }
  }
  // Built last, as before, so that a seeded flow keeps its initial weights.
  auto embedding = nn::context_embedding("make_flow", o.context_features(), o.embedding_features(),
                                         o.embedding_hidden(), o.embedding_depth(), o.activation());
  return Flow(o.features(), o.context_features(), std::move(ts), embedding);
}

namespace {
std::string listed(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}
}  // namespace

std::vector<std::string> flow_family_names() { return {"realnvp", "nsf", "maf", "maf-spline"}; }
std::vector<std::string> permutation_names() { return {"none", "reverse", "random"}; }

FlowFamily flow_family_from_string(const std::string& name) {
  for (auto f : {FlowFamily::realnvp, FlowFamily::nsf, FlowFamily::maf, FlowFamily::maf_spline})
    if (name == to_string(f)) return f;
  throw std::invalid_argument("unknown flow family '" + name + "' (choose " + listed(flow_family_names()) + ")");
}

std::string to_string(FlowFamily f) {
  switch (f) {
    case FlowFamily::realnvp: return "realnvp";
    case FlowFamily::nsf: return "nsf";
    case FlowFamily::maf: return "maf";
    case FlowFamily::maf_spline: return "maf-spline";
  }
  return "?";
}

PermutationKind permutation_from_string(const std::string& name) {
  const auto names = permutation_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (name == names[i]) return static_cast<PermutationKind>(i);
  throw std::invalid_argument("unknown permutation '" + name + "' (choose " + listed(names) + ")");
}

}  // namespace jeffreys::flows
