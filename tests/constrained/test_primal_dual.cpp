// Formulations and the primal-dual method: toy problems with known KKT points, relative levels,
// validation messages, presets.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "jeffreys/constrained/formulation.h"
#include "jeffreys/constrained/primal_dual.h"

namespace cs = jeffreys::constrained;

namespace {

const auto kD = torch::TensorOptions().dtype(torch::kDouble);

/// Minimises f(x) = (x - 2)² subject to g(x) = x <= 1 (+ slack) by gradient descent on the
/// Lagrangian and projected dual ascent. Returns {x, λ, slack}.
struct ToyResult {
  double x, lambda, slack;
};

ToyResult solve_toy(const cs::Constraint& constraint, int iterations, double lr = 0.05) {
  cs::Formulation f;
  f.name = "toy";
  f.objective = {{"f", 1.0}};
  f.constraints = {constraint};
  f.validate({"f", "g"});
  cs::PrimalDual pd(f);
  auto x = torch::zeros({}, kD).requires_grad_(true);
  for (int it = 0; it < iterations; ++it) {
    auto fx = (x - 2).square();
    auto gx = x * 1.0;
    auto loss = pd.lagrangian({{"f", fx}, {"g", gx}});
    auto grad = torch::autograd::grad({loss}, {x})[0];
    {
      torch::NoGradGuard ng;
      x.sub_(grad * lr);
    }
    pd.dual_step({{"f", fx.item<double>()}, {"g", gx.item<double>()}});
  }
  return {x.item<double>(), pd.duals()[0].lambda, pd.duals()[0].slack};
}

}  // namespace

TEST(PrimalDual, HardConstraintReachesKKTPoint) {
  cs::Constraint c;
  c.term = "g";
  c.level = 1.0;
  c.resilient = false;
  c.dual_lr = 0.05;
  c.dual_init = 0.0;
  auto r = solve_toy(c, 4000);
  // KKT: x = 1, and 2(x - 2) + λ = 0 gives λ = 2.
  EXPECT_NEAR(r.x, 1.0, 1e-3);
  EXPECT_NEAR(r.lambda, 2.0, 1e-3);
  EXPECT_EQ(r.slack, 0.0);
}

TEST(PrimalDual, ResilientConstraintReachesRelaxedKKTPoint) {
  cs::Constraint c;
  c.term = "g";
  c.level = 1.0;
  c.resilient = true;
  c.slack_cost = 1.0;
  c.dual_lr = 0.05;
  c.dual_init = 0.0;
  auto r = solve_toy(c, 4000);
  // min (x-2)² + (α/2)u² s.t. x <= 1 + u: u = λ/α, 2(x-2) + λ = 0, x = 1 + u
  // => λ = 2α/(2+α) = 2/3, u = 2/3, x = 5/3 for α = 1.
  EXPECT_NEAR(r.lambda, 2.0 / 3.0, 1e-3);
  EXPECT_NEAR(r.slack, 2.0 / 3.0, 1e-3);
  EXPECT_NEAR(r.x, 5.0 / 3.0, 1e-3);
  // A costlier slack relaxes less: α = 4 gives λ = 4/3, x = 1 + 1/3.
  c.slack_cost = 4.0;
  auto r4 = solve_toy(c, 4000);
  EXPECT_NEAR(r4.lambda, 4.0 / 3.0, 1e-3);
  EXPECT_NEAR(r4.x, 4.0 / 3.0, 1e-3);
}

TEST(PrimalDual, RelativeLevelResolvesAgainstOtherTerm) {
  cs::Formulation f;
  f.name = "relative";
  f.objective = {{"A", 1.0}};
  cs::Constraint c;
  c.term = "B";
  c.relative_to = "A";
  c.level = 0.5;
  c.resilient = false;
  c.dual_lr = 0.1;
  c.dual_init = 1.0;
  f.constraints = {c};
  EXPECT_TRUE(f.uses("A"));
  EXPECT_TRUE(f.uses("B"));
  EXPECT_FALSE(f.uses("C"));
  cs::PrimalDual pd(f);
  pd.dual_step({{"A", 2.0}, {"B", 3.0}});
  // level = 0.5 + A = 2.5; violation = 3 - 2.5 = 0.5; λ = 1 + 0.1 * 0.5.
  EXPECT_DOUBLE_EQ(pd.duals()[0].level, 2.5);
  EXPECT_DOUBLE_EQ(pd.duals()[0].violation, 0.5);
  EXPECT_DOUBLE_EQ(pd.duals()[0].lambda, 1.05);
  // Satisfied by a margin: λ decreases, and is projected onto λ >= 0.
  pd.dual_step({{"A", 10.0}, {"B", 3.0}});
  EXPECT_DOUBLE_EQ(pd.duals()[0].level, 10.5);
  EXPECT_DOUBLE_EQ(pd.duals()[0].lambda, 1.05 + 0.1 * (3.0 - 10.5));
  pd.dual_step({{"A", 10.0}, {"B", 3.0}});
  EXPECT_EQ(pd.duals()[0].lambda, 0.0);
  EXPECT_THROW(pd.dual_step({{"B", 1.0}}), std::invalid_argument);  // the level needs A

  // Relative level in a toy problem: min (x-2)² s.t. x <= h + 0.25 with h = 0.75 (so x <= 1).
  cs::Formulation toy;
  toy.name = "relative-toy";
  toy.objective = {{"f", 1.0}};
  cs::Constraint rc;
  rc.term = "g";
  rc.relative_to = "h";
  rc.level = 0.25;
  rc.resilient = false;
  rc.dual_lr = 0.05;
  rc.dual_init = 0.0;
  toy.constraints = {rc};
  cs::PrimalDual tpd(toy);
  auto x = torch::zeros({}, kD).requires_grad_(true);
  for (int it = 0; it < 4000; ++it) {
    auto fx = (x - 2).square();
    auto gx = x * 1.0;
    auto hx = x * 0.0 + 0.75;  // a term that the relative level reads (detached)
    auto grad = torch::autograd::grad({tpd.lagrangian({{"f", fx}, {"g", gx}, {"h", hx}})}, {x})[0];
    {
      torch::NoGradGuard ng;
      x.sub_(grad * 0.05);
    }
    tpd.dual_step({{"f", fx.item<double>()}, {"g", gx.item<double>()}, {"h", hx.item<double>()}});
  }
  EXPECT_NEAR(x.item<double>(), 1.0, 1e-3);
  EXPECT_NEAR(tpd.duals()[0].lambda, 2.0, 1e-3);
}

TEST(PrimalDual, LagrangianAndCoefficients) {
  cs::Formulation f;
  f.name = "lag";
  f.objective = {{"F", 2.0}, {"R", 1.0, cs::Target::main}};
  cs::Constraint c;
  c.term = "P";
  c.dual_init = 0.5;
  c.slack_cost = 2.0;
  f.constraints = {c};
  cs::PrimalDual pd(f);
  EXPECT_TRUE(pd.split_by_model());
  auto main = pd.coefficients(cs::Target::main);
  auto proxy = pd.coefficients(cs::Target::proxy);
  EXPECT_EQ(main, (std::map<std::string, double>{{"F", 2.0}, {"P", 0.5}, {"R", 1.0}}));
  EXPECT_EQ(proxy, (std::map<std::string, double>{{"F", 2.0}, {"P", 0.5}}));
  auto F = torch::tensor(1.5, kD), P = torch::tensor(-0.25, kD), R = torch::tensor(4.0, kD);
  EXPECT_DOUBLE_EQ(pd.lagrangian({{"F", F}, {"P", P}, {"R", R}}, cs::Target::main).item<double>(), 3.0 - 0.125 + 4.0);
  EXPECT_DOUBLE_EQ(pd.lagrangian({{"F", F}, {"P", P}}, cs::Target::proxy).item<double>(), 3.0 - 0.125);
  // A term with a non-zero coefficient must be supplied.
  EXPECT_THROW(pd.lagrangian({{"F", F}, {"R", R}}, cs::Target::main), std::invalid_argument);
  // Initial slack is the minimiser λ0/α, and its cost (α/2)u².
  EXPECT_DOUBLE_EQ(pd.duals()[0].slack, 0.25);
  EXPECT_DOUBLE_EQ(pd.slack_penalty(), 0.5 * 2.0 * 0.25 * 0.25);

  cs::Formulation plain;
  plain.name = "plain";
  plain.objective = {{"F", 1.0}, {"R", 1.0}};
  EXPECT_FALSE(cs::PrimalDual(plain).split_by_model());
}

TEST(Formulation, ValidateNamesTheOffendingEntry) {
  const std::vector<std::string> known{"F", "P", "R"};
  auto message = [&](const cs::Formulation& f) -> std::string {
    try {
      f.validate(known);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  auto has = [](const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; };

  cs::Formulation ok = cs::formulation_by_name("jeffreys");
  EXPECT_EQ(message(ok), "");

  cs::Formulation f;
  f.objective = {{"F", 1.0}, {"Q", 1.0}};
  auto m = message(f);
  EXPECT_TRUE(has(m, "objective[1]") && has(m, "'Q'") && has(m, "F, P, R")) << m;

  f = {};
  cs::Constraint c;
  c.term = "P";
  c.relative_to = "X";
  f.constraints = {cs::Constraint{}, c};
  f.constraints[0].term = "R";
  m = message(f);
  EXPECT_TRUE(has(m, "constraints[1].relative_to") && has(m, "'X'")) << m;

  f.constraints[1].relative_to = "P";
  m = message(f);
  EXPECT_TRUE(has(m, "constraints[1].relative_to") && has(m, "itself")) << m;

  f.constraints[1].relative_to = "F";
  f.constraints[1].dual_lr = -0.1;
  m = message(f);
  EXPECT_TRUE(has(m, "constraints[1].dual_lr")) << m;

  f.constraints[1].dual_lr = 0.1;
  f.constraints[0].dual_init = -1;
  m = message(f);
  EXPECT_TRUE(has(m, "constraints[0].dual_init")) << m;

  f.constraints[0].dual_init = 1;
  f.constraints[0].slack_cost = 0;
  m = message(f);
  EXPECT_TRUE(has(m, "constraints[0].slack_cost")) << m;
  f.constraints[0].resilient = false;  // a hard constraint has no slack to price
  EXPECT_EQ(message(f), "");

  f.constraints[0].term = "Z";
  m = message(f);
  EXPECT_TRUE(has(m, "constraints[0].term") && has(m, "'Z'")) << m;
}

TEST(Formulation, PresetsByName) {
  const std::vector<std::string> expected{"jeffreys",         "mle-flow",   "mle-ebm", "fixed-penalty",
                                          "mle-r-constraint", "three-dual", "paper"};
  EXPECT_EQ(cs::formulation_names(), expected);
  for (const auto& n : expected) {
    auto f = cs::formulation_by_name(n);
    EXPECT_EQ(f.name, n);
    EXPECT_NO_THROW(f.validate({"F", "P", "R"})) << n;
  }
  try {
    cs::formulation_by_name("wgan");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'wgan'"), std::string::npos) << m;
    for (const auto& n : expected) EXPECT_NE(m.find(n), std::string::npos) << m;
  }

  // The documented shapes of the presets.
  auto j = cs::formulation_by_name("jeffreys");
  ASSERT_EQ(j.constraints.size(), 1u);
  EXPECT_EQ(j.constraints[0].term, "P");
  EXPECT_EQ(j.constraints[0].relative_to, "F");
  EXPECT_TRUE(j.constraints[0].resilient);
  EXPECT_EQ(cs::PrimalDual(j).coefficients(cs::Target::both),
            (std::map<std::string, double>{{"F", 0.25}, {"P", 1.0}, {"R", 1.0}}));

  auto mf = cs::formulation_by_name("mle-flow");
  EXPECT_TRUE(mf.uses("F"));
  EXPECT_FALSE(mf.uses("P") || mf.uses("R"));

  auto me = cs::PrimalDual(cs::formulation_by_name("mle-ebm"));
  EXPECT_TRUE(me.split_by_model());
  EXPECT_EQ(me.coefficients(cs::Target::main), (std::map<std::string, double>{{"P", 1.0}, {"R", 1.0}}));
  EXPECT_EQ(me.coefficients(cs::Target::proxy), (std::map<std::string, double>{{"P", 1.0}}));

  auto fp = cs::PrimalDual(cs::formulation_by_name("fixed-penalty"));
  EXPECT_TRUE(fp.duals().empty());
  EXPECT_EQ(fp.coefficients(cs::Target::both), (std::map<std::string, double>{{"F", 0.25}, {"P", 1.0}, {"R", 1.0}}));

  for (const char* name : {"three-dual", "paper"}) {
    auto td = cs::formulation_by_name(name);
    EXPECT_TRUE(td.objective.empty());
    ASSERT_EQ(td.constraints.size(), 3u);
    for (const auto& c : td.constraints) {
      EXPECT_TRUE(c.resilient);
      EXPECT_EQ(c.level, 0.0);
      EXPECT_TRUE(c.relative_to.empty());
      EXPECT_FALSE(c.entropy_level);
      // The slides' slack cost ε² is α = 2; three-dual keeps the library's α = 1.
      EXPECT_EQ(c.slack_cost, std::string(name) == "paper" ? 2.0 : 1.0);
    }
  }
}

// The paper's form (METHOD.md section 3a) on a toy with a known solution: minimise Σ_k ε_k² over x
// and ε >= 0 subject to f_k(x) <= ε_k for three convex f_k, every constraint resilient with α = 2
// and the objective the slack cost alone. KKT: ε_k = f_k(x*), λ_k = α ε_k = 2 f_k(x*), and
// Σ_k λ_k f_k'(x*) = 0, i.e. x* minimises Σ_k f_k(x)²; x* found here by bisection on that condition.
TEST(PrimalDual, PaperFormulationReachesThreeConstraintKKTPoint) {
  auto f = cs::formulation_by_name("paper");
  for (auto& c : f.constraints) {
    c.term = c.term == "F" ? "a" : c.term == "P" ? "b" : "c";
    c.dual_lr = 0.05;
  }
  f.validate({"a", "b", "c"});
  ASSERT_TRUE(f.objective.empty());
  cs::PrimalDual pd(f);
  auto fa = [](auto x) { return (x - 1.0) * (x - 1.0); };
  auto fb = [](auto x) { return 2.0 * (x + 1.0) * (x + 1.0); };
  auto fc = [](auto x) { return (x - 0.5) * (x - 0.5); };
  auto stationarity = [&](double x) {  // Σ f_k f_k'
    return fa(x) * 2 * (x - 1) + fb(x) * 4 * (x + 1) + fc(x) * 2 * (x - 0.5);
  };
  double lo = -1, hi = 1;  // stationarity(-1) < 0 < stationarity(1)
  for (int i = 0; i < 200; ++i) (stationarity(0.5 * (lo + hi)) < 0 ? lo : hi) = 0.5 * (lo + hi);
  const double x_star = 0.5 * (lo + hi);

  auto x = torch::zeros({}, kD).requires_grad_(true);
  for (int it = 0; it < 20000; ++it) {
    auto a = fa(x), b = fb(x), c = fc(x);
    auto loss = pd.lagrangian({{"a", a}, {"b", b}, {"c", c}});
    auto grad = torch::autograd::grad({loss}, {x})[0];
    {
      torch::NoGradGuard ng;
      x.sub_(grad * 0.02);
    }
    pd.dual_step({{"a", a.item<double>()}, {"b", b.item<double>()}, {"c", c.item<double>()}});
  }
  const double xs = x.item<double>();
  EXPECT_NEAR(xs, x_star, 1e-4);
  const double fs[3] = {fa(x_star), fb(x_star), fc(x_star)};
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(pd.duals()[k].lambda, 2 * fs[k], 1e-3) << k;
    EXPECT_NEAR(pd.duals()[k].slack, fs[k], 1e-3) << k;
    EXPECT_NEAR(pd.duals()[k].violation, 0.0, 1e-3) << k;
  }
  // The slack cost Σ (α/2) u² is Σ ε_k², the objective of the slides.
  EXPECT_NEAR(pd.slack_penalty(), fs[0] * fs[0] + fs[1] * fs[1] + fs[2] * fs[2], 1e-3);
}

// Entropy-corrected levels: the data's entropy estimate moves exactly the flagged levels.
TEST(PrimalDual, EntropyLevelAddsTheDataEntropy) {
  cs::Formulation f;
  f.name = "h";
  cs::Constraint c;
  c.term = "F";
  c.level = 0.25;
  c.entropy_level = true;
  c.resilient = false;
  c.dual_init = 0;
  cs::Constraint r = c;
  r.term = "R";
  r.entropy_level = false;
  f.constraints = {c, r};
  f.validate(cs::term_names());
  EXPECT_TRUE(f.uses_entropy_level());
  cs::PrimalDual pd(f);
  pd.set_data_entropy(1.5);
  pd.dual_step({{"F", 2.0}, {"R", 2.0}});
  EXPECT_DOUBLE_EQ(pd.duals()[0].level, 1.75);
  EXPECT_DOUBLE_EQ(pd.duals()[0].violation, 0.25);
  EXPECT_DOUBLE_EQ(pd.duals()[1].level, 0.25);
  // Only F and P have the data's entropy in them.
  f.constraints[1].entropy_level = true;
  EXPECT_THROW(f.validate(cs::term_names()), std::invalid_argument);
}
