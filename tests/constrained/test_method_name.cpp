// The one method grammar: presets with -F/-K/-E/-warm suffixes, npe and wgan-gp, as train, sbi and
// the studies read them.
#include <gtest/gtest.h>

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

TEST(MethodName, TrainReadsTheSameGrammar) {
  namespace ja = jeffreys::app;
  auto c = ja::load_config("", {"method.name=jeffreys-F10"});
  EXPECT_DOUBLE_EQ(weight_of(c.method.formulation(), "F"), 10.0);
  // The resolved file writes the weighted formulation out and reads back to the same configuration.
  const auto text = c.to_toml();
  EXPECT_NE(text.find("F = 10.0"), std::string::npos) << text;
  // Suffixes of conditional training are refused with the key named.
  try {
    ja::load_config("", {"method.name=jeffreys-K8"});
    FAIL();
  } catch (const ja::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("method.name"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("train.flow_samples"), std::string::npos) << e.what();
  }
}

}  // namespace
