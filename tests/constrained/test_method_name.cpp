// The one method grammar: presets with -F/-K/-E/-warm suffixes, npe and wgan-gp, as train, sbi and
// the studies read them.
#include <gtest/gtest.h>

#include <cmath>

#include "app/config/config.h"
#include "jeffreys/constrained/method_name.h"

namespace {
namespace cs = jeffreys::constrained;

double weight_of(const cs::Formulation& f, const std::string& term) {
  double w = 0;
  for (const auto& t : f.objective)
    if (t.term == term) w += t.weight;
  return w;
}

TEST(MethodName, PresetsSuffixesAndAliases) {
  auto m = cs::parse_method_name("jeffreys-F10-K8-S500-E16-warm");
  EXPECT_DOUBLE_EQ(weight_of(m.formulation, "F"), 10.0);
  EXPECT_EQ(m.flow_samples, 8);
  EXPECT_EQ(m.embedding, 16);
  EXPECT_EQ(m.proxy_rows, 500);
  EXPECT_TRUE(m.warm);
  EXPECT_TRUE(m.conditional_only());
  EXPECT_EQ(m.formulation.name, "jeffreys-F10-K8-S500-E16-warm");
  // Without suffixes: the preset itself.
  const auto plain = cs::parse_method_name("jeffreys");
  EXPECT_DOUBLE_EQ(weight_of(plain.formulation, "F"), weight_of(cs::formulation_by_name("jeffreys"), "F"));
  EXPECT_FALSE(plain.conditional_only());
  EXPECT_EQ(cs::parse_method_name("npe").formulation.objective.size(),
            cs::formulation_by_name("mle-flow").objective.size());
  EXPECT_FALSE(cs::parse_method_name("npe").formulation.uses_proxy());
  EXPECT_TRUE(cs::parse_method_name("wgan-gp").wgan);
  EXPECT_THROW(cs::parse_method_name("gan"), std::invalid_argument);
  EXPECT_THROW(cs::parse_method_name("jeffreys-K1"), std::invalid_argument);
  EXPECT_THROW(cs::parse_method_name("jeffreys-E2.5"), std::invalid_argument);
  EXPECT_THROW(cs::parse_method_name("mle-flow-warm"), std::invalid_argument);
}

TEST(MethodName, EntropyLevelsAndTheESSConstraint) {
  auto m = cs::parse_method_name("paper-H-W0.1-K8-S100");
  EXPECT_TRUE(m.entropy_levels);
  EXPECT_DOUBLE_EQ(m.ess_floor, 0.1);
  EXPECT_EQ(m.flow_samples, 8);
  EXPECT_EQ(m.proxy_rows, 100);
  ASSERT_EQ(m.formulation.constraints.size(), 4u);
  for (const auto& c : m.formulation.constraints) EXPECT_EQ(c.entropy_level, c.term == "F" || c.term == "P") << c.term;
  const auto& w = m.formulation.constraints.back();
  EXPECT_EQ(w.term, "W");
  EXPECT_FALSE(w.resilient);
  EXPECT_DOUBLE_EQ(w.level, -std::log(0.1));
  EXPECT_DOUBLE_EQ(w.dual_init, 0.0);
  EXPECT_TRUE(m.formulation.uses_proxy());
  EXPECT_NO_THROW(m.formulation.validate(cs::term_names()));
  EXPECT_EQ(cs::parse_method_name("paper-H").formulation.constraints.size(), 3u);
  EXPECT_THROW(cs::parse_method_name("jeffreys-H"), std::invalid_argument);   // P <= F: no absolute level
  EXPECT_THROW(cs::parse_method_name("mle-flow-H"), std::invalid_argument);   // no constraint at all
  EXPECT_THROW(cs::parse_method_name("paper-W1.5"), std::invalid_argument);   // a fraction of the samples
  // The ESS constraint can be put on any method with a proxy, e.g. the default.
  EXPECT_EQ(cs::parse_method_name("jeffreys-W0.05").formulation.constraints.size(), 2u);
}

TEST(MethodName, TiltedProxyWithAndWithoutAMovingAverage) {
  const auto plain = cs::parse_method_name("paper-H-T");
  EXPECT_TRUE(plain.tilted_proxy);
  EXPECT_EQ(plain.tilt_average, 0.0);
  const auto averaged = cs::parse_method_name("paper-H-T0.99-S1000");
  EXPECT_TRUE(averaged.tilted_proxy);
  EXPECT_DOUBLE_EQ(averaged.tilt_average, 0.99);
  EXPECT_EQ(averaged.proxy_rows, 1000);
  EXPECT_TRUE(averaged.entropy_levels);
  EXPECT_FALSE(cs::parse_method_name("paper-H").tilted_proxy);
  // -Hc: the same levels, the estimate capped by the Gaussian bound; with other suffixes too.
  const auto capped = cs::parse_method_name("paper-Hc-T");
  EXPECT_TRUE(capped.entropy_levels && capped.entropy_capped && capped.formulation.entropy_capped && capped.tilted_proxy);
  EXPECT_TRUE(capped.formulation.uses_entropy_level());
  EXPECT_FALSE(cs::parse_method_name("paper-H-T").formulation.entropy_capped);
  // -Hn: capped by the smaller of the linear and the neural Gaussian bound; conditional only.
  const auto neural = cs::parse_method_name("paper-Hn-T");
  EXPECT_TRUE(neural.entropy_levels && neural.entropy_capped && neural.entropy_neural && neural.tilted_proxy);
  EXPECT_TRUE(neural.formulation.entropy_capped && neural.formulation.entropy_neural_bound);
  EXPECT_TRUE(neural.conditional_only());
  EXPECT_FALSE(capped.entropy_neural || capped.formulation.entropy_neural_bound || capped.conditional_only());
  EXPECT_THROW(cs::parse_method_name("jeffreys-Hc"), std::invalid_argument);  // no absolute level
  EXPECT_THROW(cs::parse_method_name("paper-T1.5"), std::invalid_argument);      // a decay in (0, 1)
  EXPECT_THROW(cs::parse_method_name("paper-T1"), std::invalid_argument);
  EXPECT_THROW(cs::parse_method_name("mle-flow-T0.9"), std::invalid_argument);   // no proxy to tilt
}

TEST(MethodName, TrainReadsTheSameGrammar) {
  namespace ja = jeffreys::app;
  auto c = ja::load_config("", {"method.name=jeffreys-F10"});
  EXPECT_DOUBLE_EQ(weight_of(c.method.formulation(), "F"), 10.0);
  // The resolved file writes the weighted formulation out and reads back to the same configuration.
  const auto text = c.to_toml();
  EXPECT_NE(text.find("F = 10.0"), std::string::npos) << text;
  const auto paper = ja::load_config("", {"method.name=paper-H"}).to_toml();
  EXPECT_NE(paper.find("entropy_level = true"), std::string::npos) << paper;
  EXPECT_NE(paper.find("slack_cost = 2.0"), std::string::npos) << paper;
  // Suffixes of conditional training are refused with the key named.
  try {
    ja::load_config("", {"method.name=jeffreys-K8"});
    FAIL();
  } catch (const ja::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("method.name"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("train.flow_samples"), std::string::npos) << e.what();
  }
  try {
    ja::load_config("", {"method.name=paper-Hn"});
    FAIL();
  } catch (const ja::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("use -Hc for -Hn"), std::string::npos) << e.what();
  }
}

}  // namespace
