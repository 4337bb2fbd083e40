// The one builder of models and trainer: reproducible from the seed, the energy model wired in only
// for formulations that train it.
#include <gtest/gtest.h>

#include "jeffreys/constrained/formulation.h"
#include "jeffreys/train/models.h"

namespace {
namespace tr = jeffreys::train;
namespace cs = jeffreys::constrained;

tr::Models build(uint64_t seed) {
  return tr::make_models(jeffreys::flows::FlowOptions(2).layers(2).hidden(8),
                         jeffreys::energy::MLPEnergyOptions(2).hidden(8), seed);
}

TEST(Models, SameSeedSameModelsAndTheEnergyOnlyWhereItTrains) {
  auto a = build(5), b = build(5), c = build(6);
  auto pa = a.flow->parameters(), pb = b.flow->parameters(), pc = c.flow->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  bool differs = false;
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(torch::equal(pa[i], pb[i])) << i;
    differs = differs || !torch::equal(pa[i], pc[i]);
  }
  EXPECT_TRUE(differs) << "another seed gave the same flow";
  auto ea = a.energy->parameters(), eb = b.energy->parameters();
  for (size_t i = 0; i < ea.size(); ++i) EXPECT_TRUE(torch::equal(ea[i], eb[i])) << i;
  // The energy model is built for every method (the flow's initialisation does not depend on the
  // method) but a trainer receives it only when the formulation uses P or R.
  tr::TrainerOptions o;
  o.batch_size = 16;
  o.flow_samples = 16;
  EXPECT_EQ(tr::make_trainer(a, cs::formulation_by_name("mle-flow"), o)->energy(), nullptr);
  EXPECT_EQ(tr::make_trainer(b, cs::formulation_by_name("jeffreys"), o)->energy().get(), b.energy.get());
}

}  // namespace
