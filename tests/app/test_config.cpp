// Configuration files: defaults, overrides, the resolved file round trip, and a corpus of malformed
// inputs that must each fail with the file, the line and the key named.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "app/config/config.h"

namespace {
namespace fs = std::filesystem;
using jeffreys::app::Config;
using jeffreys::app::ConfigError;
using jeffreys::app::load_config;

std::string write_temp(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / "jeffreys_config_test";
  fs::create_directories(dir);
  const auto p = (dir / name).string();
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

TEST(Config, DefaultsAndOverrides) {
  auto c = load_config("", {"flow.layers=4", "data.name=two-moons", "optim.lr=0.01", "method.name=\"mle-flow\""});
  EXPECT_EQ(c.flow.layers, 4);
  EXPECT_EQ(c.data.name, "two-moons");
  EXPECT_DOUBLE_EQ(c.optim.lr, 0.01);
  EXPECT_EQ(c.method.name, "mle-flow");
  EXPECT_EQ(c.train.steps, Config{}.train.steps);
}

TEST(Config, ResolvedFileRoundTrips) {
  auto path = write_temp("full.toml", R"(
seed = 7
[data]
name = "rings"
n_train = 200
[flow]
family = "nsf"
bins = 12
actnorm = true
[method]
name = "jeffreys"
[method.objective]
F = 0.25
R = 1.0
[[method.constraints]]
term = "P"
relative_to = "F"
level = 0.1
dual_lr = 0.02
[train]
steps = 123
)");
  auto c = load_config(path, {"eval.grid=64"});
  EXPECT_EQ(c.seed, 7u);
  EXPECT_EQ(c.flow.bins, 12);
  EXPECT_TRUE(c.flow.actnorm);
  auto f = c.method.formulation();
  ASSERT_EQ(f.objective.size(), 2u);
  ASSERT_EQ(f.constraints.size(), 1u);
  EXPECT_DOUBLE_EQ(f.constraints[0].level, 0.1);
  auto resolved = write_temp("resolved.toml", c.to_toml());
  auto again = load_config(resolved);
  EXPECT_EQ(again.to_toml(), c.to_toml());
  EXPECT_TRUE(again == c);
  // Every preset survives the round trip, including one without constraints after an explicit empty list.
  for (const auto& m : jeffreys::constrained::formulation_names()) {
    auto p = load_config("", {"method.name=" + m});
    EXPECT_EQ(load_config(write_temp("m.toml", p.to_toml())).to_toml(), p.to_toml()) << m;
  }
  // The WGAN-GP baseline has its own section and no formulation.
  auto w = load_config("", {"method.name=\"wgan-gp\"", "wgan.critic_steps=3", "wgan.gp_weight=5"});
  EXPECT_TRUE(w.method.is_wgan());
  EXPECT_EQ(w.wgan.critic_steps, 3);
  EXPECT_EQ(load_config(write_temp("w.toml", w.to_toml())).to_toml(), w.to_toml());
  EXPECT_NE(w.to_toml().find("[wgan]"), std::string::npos);
  EXPECT_EQ(w.to_toml().find("[method.objective]"), std::string::npos);
  auto none = load_config("", {"method.constraints=[]"});
  EXPECT_TRUE(none.method.formulation().constraints.empty());
  EXPECT_TRUE(load_config(write_temp("none.toml", none.to_toml())).method.formulation().constraints.empty());
}

struct BadCase {
  const char* name;
  const char* text;
  int line;          // expected line in the message (0: not checked)
  const char* key;   // expected key in the message
};

class MalformedConfig : public ::testing::TestWithParam<BadCase> {};

TEST_P(MalformedConfig, NamesFileLineAndKey) {
  const auto& bc = GetParam();
  const auto path = write_temp(std::string(bc.name) + ".toml", bc.text);
  try {
    load_config(path);
    FAIL() << "no error for " << bc.name;
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    if (bc.line > 0) EXPECT_NE(msg.find(path + ":" + std::to_string(bc.line)), std::string::npos) << msg;
    EXPECT_NE(msg.find(bc.key), std::string::npos) << msg;
  }
}

const BadCase kBad[] = {
    {"unknown_top", "seeed = 1\n", 1, "seeed"},
    {"unknown_section_key", "[flow]\nlayers = 4\nlayer = 3\n", 3, "flow.layer"},
    {"unknown_section", "[flows]\nlayers = 4\n", 1, "flows"},
    {"string_for_int", "[flow]\nlayers = \"eight\"\n", 2, "flow.layers"},
    {"float_for_int", "[train]\nsteps = 1.5\n", 2, "train.steps"},
    {"int_for_string", "[data]\nname = 3\n", 2, "data.name"},
    {"string_for_bool", "[flow]\nactnorm = \"yes\"\n", 2, "flow.actnorm"},
    {"string_for_float", "[optim]\nlr = \"fast\"\n", 2, "optim.lr"},
    {"negative_steps", "[train]\nsteps = -5\n", 2, "train.steps"},
    {"zero_lr", "[optim]\n\nlr = 0.0\n", 3, "optim.lr"},
    {"bad_family", "[flow]\nfamily = \"glow\"\n", 2, "flow.family"},
    {"bad_permutation", "[flow]\npermutation = \"shuffle\"\n", 2, "flow.permutation"},
    {"bad_activation", "[energy]\nactivation = \"swish\"\n", 2, "energy.activation"},
    {"bad_method", "[method]\nname = \"gan\"\n", 1, "method"},
    {"bad_objective_term", "[method.objective]\nQ = 1.0\n", 2, "method.objective.Q"},
    {"constraint_without_term", "[[method.constraints]]\nlevel = 1.0\n", 1, "method.constraints[0].term"},
    {"constraint_unknown_key", "[[method.constraints]]\nterm = \"P\"\nalpha = 2.0\n", 3, "method.constraints[0].alpha"},
    {"section_not_table", "flow = 3\n", 1, "flow"},
    {"syntax_error", "[flow]\nlayers = = 4\n", 2, ""},
    {"unterminated_string", "[data]\nname = \"two-moons\n", 2, ""},
    {"duplicate_key", "[flow]\nlayers = 4\nlayers = 5\n", 3, ""},
    {"binary_junk", "\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\xff\xfe", 1, ""},
    {"nan_value", "[optim]\nlr = nan\n", 2, "optim.lr"},
    {"bad_fraction", "[data]\nvalidation_fraction = 1.5\n", 2, "data.validation_fraction"},
    {"bad_device", "device = \"tpu\"\n", 1, "device"},
    {"wgan_with_objective", "[method]\nname = \"wgan-gp\"\n[method.objective]\nF = 1.0\n", 2, "method.name"},
    {"wgan_zero_critic_steps", "[wgan]\n\ncritic_steps = 0\n", 3, "wgan.critic_steps"},
    {"csv_without_file", "[data]\nname = \"csv\"\n", 0, "data.csv"},
    {"test_csv_without_csv", "[data]\nname = \"rings\"\ntest_csv = \"t.csv\"\n", 0, "data.test_csv"},
    {"subset_of_builtin_set", "[data]\nname = \"rings\"\nsubset = 100\n", 0, "data.subset"},
    {"negative_subset", "[data]\nname = \"csv\"\ncsv = \"a.csv\"\nsubset = -1\n", 0, "data.subset"},
};

INSTANTIATE_TEST_SUITE_P(Corpus, MalformedConfig, ::testing::ValuesIn(kBad),
                         [](const ::testing::TestParamInfo<BadCase>& i) { return std::string(i.param.name); });

TEST(Config, MissingFileAndBadOverride) {
  try {
    load_config("/nonexistent/run.toml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/run.toml"), std::string::npos);
  }
  try {
    load_config("", {"flow.layers=many"});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--set flow.layers=many"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_config("", {"novalue"}), ConfigError);
  EXPECT_THROW(load_config("", {"flow.nonsense=1"}), ConfigError);
}

}  // namespace
