// Trainer: checkpoint/resume reproducibility, atomic writes, typed errors, every preset method.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "jeffreys/constrained/formulation.h"
#include "jeffreys/energy/energy.h"
#include "jeffreys/flows/presets.h"
#include "jeffreys/train/errors.h"
#include "jeffreys/train/trainer.h"
#include "jeffreys/transforms/actnorm.h"
#include "support/expect_bijection.h"

namespace tr = jeffreys::train;
namespace fl = jeffreys::flows;
namespace en = jeffreys::energy;
namespace cs = jeffreys::constrained;

namespace {

const auto kD = torch::TensorOptions().dtype(torch::kDouble);

struct Models {
  fl::Flow flow{nullptr};
  en::EnergyPtr energy;
};

Models make_models(uint64_t seed, int64_t hidden = 16) {
  torch::manual_seed(seed);
  Models m;
  // ActNorm so that the checkpoint must carry buffers (the initialised flag) as well as parameters.
  m.flow = fl::make_flow(fl::FlowOptions(2).layers(3).hidden(hidden).actnorm(true));
  m.flow->to(torch::kDouble);
  m.energy = std::make_shared<en::MLPEnergyImpl>(en::MLPEnergyOptions(2).hidden(hidden));
  m.energy->to(torch::kDouble);
  return m;
}

tr::TrainerOptions trainer_options() {
  tr::TrainerOptions o;
  o.batch_size = 64;
  o.flow_samples = 64;
  o.main.adam.lr = 5e-3;
  o.proxy.adam.lr = 5e-3;
  o.main.clip_grad_norm = 10.0;
  o.main.schedule.kind = tr::ScheduleKind::cosine;
  o.main.schedule.total_steps = 40;
  o.seed = 1234;
  return o;
}

torch::Tensor toy_data() {
  auto g = at::detail::createCPUGenerator(77);
  return torch::randn({500, 2}, g, kD) * torch::tensor({1.0, 0.5}, kD) + torch::tensor({0.5, -1.0}, kD);
}

std::vector<torch::Tensor> snapshot(const std::vector<torch::Tensor>& ps) {
  std::vector<torch::Tensor> out;
  for (const auto& p : ps) out.push_back(p.detach().clone());
  return out;
}

bool all_equal(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!torch::equal(a[i], b[i])) return false;
  return true;
}

bool none_equal(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (torch::equal(a[i], b[i])) return false;
  return true;
}

struct Record {
  std::map<std::string, double> terms;
  double loss, log_z, ess, gm, gp;
  bool operator==(const Record& o) const {
    return terms == o.terms && loss == o.loss && log_z == o.log_z && ess == o.ess && gm == o.gm && gp == o.gp;
  }
};

Record record(const tr::StepEstimates& e) {
  return {e.terms, e.loss, e.log_z, e.ess, e.grad_norm_main, e.grad_norm_proxy};
}

}  // namespace

TEST(Trainer, ResumeFromCheckpointIsBitForBit) {
  auto data = toy_data();
  jtest::TempPath ckpt("resume");

  // Uninterrupted run: 10 steps, checkpoint, 10 more.
  auto a = make_models(91);
  tr::Trainer ta(a.flow, a.energy, cs::formulation_by_name("jeffreys"), trainer_options());
  for (int i = 0; i < 10; ++i) ta.step_on(data);
  ta.save(ckpt.str());
  EXPECT_TRUE(std::filesystem::exists(ckpt.str()));
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(ckpt.str()).parent_path()))
    EXPECT_NE(e.path().string().rfind(ckpt.str() + ".tmp", 0), 0u) << "temporary file left behind: " << e.path();
  std::vector<Record> expected;
  for (int i = 0; i < 10; ++i) expected.push_back(record(ta.step_on(data)));

  // Resumed run: fresh models built from a different seed (so everything must come from the file).
  auto b = make_models(92);
  EXPECT_FALSE(all_equal(snapshot(a.flow->parameters()), snapshot(b.flow->parameters())));
  tr::Trainer tb(b.flow, b.energy, cs::formulation_by_name("jeffreys"), trainer_options());
  tb.load(ckpt.str());
  EXPECT_EQ(tb.step_count(), 10);
  std::vector<Record> resumed;
  for (int i = 0; i < 10; ++i) resumed.push_back(record(tb.step_on(data)));

  ASSERT_EQ(resumed.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(resumed[i] == expected[i]) << "step " << 10 + i << ": F " << resumed[i].terms["F"] << " vs "
                                           << expected[i].terms["F"];
  }
  EXPECT_TRUE(all_equal(snapshot(a.flow->parameters()), snapshot(b.flow->parameters())));
  EXPECT_TRUE(all_equal(snapshot(a.energy->parameters()), snapshot(b.energy->parameters())));
  EXPECT_TRUE(all_equal(snapshot(a.flow->buffers()), snapshot(b.flow->buffers())));
  ASSERT_EQ(ta.primal_dual().duals().size(), 1u);
  EXPECT_EQ(ta.primal_dual().duals()[0].lambda, tb.primal_dual().duals()[0].lambda);
  EXPECT_EQ(ta.primal_dual().duals()[0].slack, tb.primal_dual().duals()[0].slack);
  EXPECT_EQ(ta.step_count(), tb.step_count());
  // The dual actually moved, so the comparison covers it.
  EXPECT_NE(ta.primal_dual().duals()[0].lambda, 1.0);
}

TEST(Trainer, LoadRejectsMissingCorruptAndMismatchedCheckpoints) {
  auto m = make_models(93);
  tr::Trainer t(m.flow, m.energy, cs::formulation_by_name("jeffreys"), trainer_options());
  jtest::TempPath missing("missing");
  EXPECT_THROW(t.load(missing.str()), tr::CheckpointError);

  jtest::TempPath corrupt("corrupt");
  {
    std::ofstream f(corrupt.str(), std::ios::binary);
    f << "this is not a checkpoint";
  }
  EXPECT_THROW(t.load(corrupt.str()), tr::CheckpointError);

  // A truncated real checkpoint.
  jtest::TempPath good("good");
  t.step_on(toy_data());
  t.save(good.str());
  jtest::TempPath truncated("truncated");
  {
    std::ifstream in(good.str(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(truncated.str(), std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  EXPECT_THROW(t.load(truncated.str()), tr::CheckpointError);

  // Another method, or other model shapes.
  auto m2 = make_models(94);
  tr::Trainer other_method(m2.flow, m2.energy, cs::formulation_by_name("fixed-penalty"), trainer_options());
  EXPECT_THROW(other_method.load(good.str()), tr::CheckpointError);
  auto m3 = make_models(95, /*hidden=*/8);
  tr::Trainer other_shape(m3.flow, m3.energy, cs::formulation_by_name("jeffreys"), trainer_options());
  EXPECT_THROW(other_shape.load(good.str()), tr::CheckpointError);
  // A failed load leaves the step counter alone, and a good one restores it.
  EXPECT_EQ(other_method.step_count(), 0);
  auto m4 = make_models(96);
  tr::Trainer same(m4.flow, m4.energy, cs::formulation_by_name("jeffreys"), trainer_options());
  same.load(good.str());
  EXPECT_EQ(same.step_count(), 1);
}

TEST(Trainer, SaveReplacesExistingCheckpointAtomically) {
  auto m = make_models(97);
  tr::Trainer t(m.flow, m.energy, cs::formulation_by_name("jeffreys"), trainer_options());
  jtest::TempPath path("replace");
  t.save(path.str());
  t.step_on(toy_data());
  t.save(path.str());
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path.str()).parent_path()))
    EXPECT_NE(e.path().string().rfind(path.str() + ".tmp", 0), 0u) << e.path();
  auto m2 = make_models(98);
  tr::Trainer u(m2.flow, m2.energy, cs::formulation_by_name("jeffreys"), trainer_options());
  u.load(path.str());
  EXPECT_EQ(u.step_count(), 1);
  // Saving into a directory that does not exist fails with a typed error or leaves no file.
  const std::string bad = path.str() + ".d/none/ckpt.pt";
  EXPECT_ANY_THROW(t.save(bad));
  EXPECT_FALSE(std::filesystem::exists(bad));
}

TEST(Trainer, NonFiniteTermRaisesTrainingDiverged) {
  auto m = make_models(99);
  tr::Trainer t(m.flow, m.energy, cs::formulation_by_name("jeffreys"), trainer_options());
  auto data = toy_data();
  t.step_on(data);
  t.step_on(data);
  auto before = snapshot(m.flow->parameters());
  auto bad = data.narrow(0, 0, 64).clone();
  bad[3][1] = std::numeric_limits<double>::quiet_NaN();
  try {
    t.step(bad);
    FAIL() << "expected TrainingDiverged";
  } catch (const tr::TrainingDiverged& e) {
    EXPECT_EQ(e.step, 2);
    EXPECT_EQ(e.term, "F");
    EXPECT_TRUE(std::isnan(e.value));
    const std::string msg = e.what();
    EXPECT_NE(msg.find("step 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("F"), std::string::npos) << msg;
  }
  // Nothing was applied.
  EXPECT_EQ(t.step_count(), 2);
  EXPECT_TRUE(all_equal(before, snapshot(m.flow->parameters())));

  // A finite term above the threshold diverges too, naming the threshold.
  auto o = trainer_options();
  o.divergence_threshold = 1e-3;
  auto m2 = make_models(100);
  tr::Trainer t2(m2.flow, m2.energy, cs::formulation_by_name("jeffreys"), o);
  try {
    t2.step_on(data);
    FAIL() << "expected TrainingDiverged";
  } catch (const tr::TrainingDiverged& e) {
    EXPECT_EQ(e.step, 0);
    EXPECT_FALSE(e.term.empty());
    EXPECT_NE(std::string(e.what()).find("divergence_threshold"), std::string::npos) << e.what();
  }
}

TEST(Trainer, ComputeGradientsLeavesParametersAndFillsBuffers) {
  auto m = make_models(101);
  tr::Trainer t(m.flow, m.energy, cs::formulation_by_name("jeffreys"), trainer_options());
  auto data = toy_data();
  t.step_on(data);  // ActNorm initialised by the first batch
  auto fp = snapshot(m.flow->parameters());
  auto ep = snapshot(m.energy->parameters());
  auto est = t.compute_gradients(data.narrow(0, 0, 64));
  EXPECT_TRUE(all_equal(fp, snapshot(m.flow->parameters())));
  EXPECT_TRUE(all_equal(ep, snapshot(m.energy->parameters())));
  EXPECT_NEAR(t.main_grads().norm().item<double>(), est.grad_norm_main, 1e-12);
  EXPECT_NEAR(t.proxy_grads().norm().item<double>(), est.grad_norm_proxy, 1e-12);
  EXPECT_GT(est.grad_norm_main, 0);
  EXPECT_GT(est.grad_norm_proxy, 0);
  EXPECT_EQ(est.terms.size(), 3u);
  // The reported loss is the Lagrangian's parameter-dependent part 0.25 F + R + λ P at the current multiplier.
  const double lambda = t.primal_dual().duals()[0].lambda;
  EXPECT_NEAR(est.loss, 0.25 * est.terms["F"] + est.terms["R"] + lambda * est.terms["P"], 1e-9);
  t.apply(est);
  EXPECT_EQ(t.step_count(), 2);
  EXPECT_FALSE(all_equal(fp, snapshot(m.flow->parameters())));
}

TEST(Trainer, EveryPresetMethodTrainsWhatItShould) {
  auto data = toy_data();
  for (const auto& name : cs::formulation_names()) {
    SCOPED_TRACE(name);
    auto m = make_models(102);
    auto flow0 = snapshot(m.flow->parameters());
    auto energy0 = snapshot(m.energy->parameters());
    tr::Trainer t(m.flow, m.energy, cs::formulation_by_name(name), trainer_options());
    tr::StepEstimates last;
    for (int i = 0; i < 20; ++i) last = t.step_on(data);
    EXPECT_EQ(t.step_count(), 20);
    for (const auto& [term, value] : last.terms) EXPECT_TRUE(std::isfinite(value)) << term;
    // Every method trains the flow (mle-ebm through R, as the importance proposal).
    EXPECT_TRUE(none_equal(flow0, snapshot(m.flow->parameters()))) << "some flow parameter did not move";
    if (name == "mle-flow") {
      EXPECT_EQ(last.terms.size(), 1u);
      EXPECT_EQ(last.terms.count("F"), 1u);
      EXPECT_TRUE(all_equal(energy0, snapshot(m.energy->parameters()))) << "mle-flow touched the energy";
    } else {
      EXPECT_TRUE(none_equal(energy0, snapshot(m.energy->parameters()))) << "some energy parameter did not move";
      EXPECT_GT(last.ess, 0.0);
    }
    if (name == "mle-ebm") {
      EXPECT_EQ(last.terms.count("F"), 0u);
    }
    if (name == "three-dual") {
      ASSERT_EQ(t.primal_dual().duals().size(), 3u);
      for (const auto& d : t.primal_dual().duals()) EXPECT_NE(d.lambda, 1.0);
    }
  }
  // mle-flow needs no energy at all.
  auto m = make_models(103);
  tr::Trainer t(m.flow, nullptr, cs::formulation_by_name("mle-flow"), trainer_options());
  EXPECT_NO_THROW(t.step_on(data));
  auto m2 = make_models(104);
  EXPECT_THROW(tr::Trainer(m2.flow, nullptr, cs::formulation_by_name("jeffreys"), trainer_options()), c10::Error);
}

TEST(Trainer, MleEbmSendsReverseTermToTheFlowOnly) {
  // The proxy gradient of mle-ebm is ∇ψ P alone: compare with the fixed-penalty-free P gradient.
  auto m = make_models(105);
  auto data = toy_data();
  tr::Trainer t(m.flow, m.energy, cs::formulation_by_name("mle-ebm"), trainer_options());
  auto x = data.narrow(0, 0, 64);
  auto gen_state = t.generator()->get_state();
  t.compute_gradients(x);
  auto proxy = t.proxy_grads().clone();

  auto gen = at::detail::createCPUGenerator(0);
  gen.set_state(gen_state);
  jeffreys::divergence::TermsRequest req;
  req.forward = false;
  req.flow_samples = trainer_options().flow_samples;
  auto terms = jeffreys::divergence::jeffreys_terms(*m.flow, m.energy.get(), x, {}, req, gen);
  auto gP = torch::autograd::grad({terms.P}, m.energy->parameters());
  std::vector<torch::Tensor> flat;
  for (const auto& g : gP) flat.push_back(g.reshape({-1}));
  EXPECT_LT(jtest::max_abs_diff(proxy, torch::cat(flat)), 1e-10);
}

TEST(Trainer, MethodsWithoutForwardTermStillInitialiseActNorm) {
  torch::manual_seed(106);
  auto flow = fl::make_flow(fl::FlowOptions(2).layers(2).hidden(16).actnorm(true));
  flow->to(torch::kDouble);
  auto energy = std::make_shared<en::MLPEnergyImpl>(en::MLPEnergyOptions(2).hidden(16));
  energy->to(torch::kDouble);
  tr::Trainer t(flow, energy, cs::formulation_by_name("mle-ebm"), trainer_options());
  auto x = toy_data().narrow(0, 0, 64) * 3.0 + 5.0;
  t.step(x);
  auto first = std::dynamic_pointer_cast<jeffreys::transforms::ActNormImpl>(flow->transforms()[0]);
  ASSERT_TRUE(first != nullptr);
  EXPECT_TRUE(first->initialized());
  // Data-initialised on x (before the step's update moved it slightly): far from the identity.
  EXPECT_GT(first->shift.abs().max().item<double>(), 0.5);
}

TEST(Trainer, ConditionalModelsTrainOnContextRows) {
  torch::manual_seed(106);
  auto flow = fl::make_flow(fl::FlowOptions(2).layers(2).hidden(16).context_features(3));
  flow->to(torch::kDouble);
  auto energy = std::make_shared<en::MLPEnergyImpl>(en::MLPEnergyOptions(2).hidden(16).context_features(3));
  energy->to(torch::kDouble);
  auto o = trainer_options();
  o.batch_size = 16;
  o.flow_samples = 8;  // K samples per context row
  tr::Trainer t(flow, energy, cs::formulation_by_name("jeffreys"), o);
  auto context = torch::randn({200, 3}, kD);
  auto data = context.narrow(1, 0, 2) * 0.5 + torch::randn({200, 2}, kD) * 0.3;
  auto f0 = snapshot(flow->parameters());
  auto e0 = snapshot(energy->parameters());
  for (int i = 0; i < 5; ++i) {
    auto est = t.step_on(data, context);
    EXPECT_EQ(est.terms.size(), 3u);
    for (const auto& [term, value] : est.terms) EXPECT_TRUE(std::isfinite(value)) << term;
    EXPECT_GT(est.ess, 0.0);
    EXPECT_LE(est.ess, 8.0 + 1e-9);
  }
  EXPECT_TRUE(none_equal(f0, snapshot(flow->parameters())));
  EXPECT_TRUE(none_equal(e0, snapshot(energy->parameters())));
  // A conditional model without its context is an error, not a silent unconditional step.
  EXPECT_THROW(t.step_on(data), c10::Error);
}
