// The image study: its file's errors name file, line and key; and a tiny study on a slice of
// Fashion-MNIST trains the autoencoder, the classifier and two latent methods as processes, then
// writes results.csv with real FID / precision / recall and the grids.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "app/config/config.h"
#include "app/studies/image_study.h"
#include "jeffreys/plot/image.h"
#include "jeffreys/plot/png.h"
#include "support/kill_sweep.h"

namespace fs = std::filesystem;
namespace je = jeffreys::app;

namespace {

const std::string kFashion = "/usr/share/datasets/fashion-mnist";

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("jeffreys_image_study_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
  return p.string();
}

std::string base_config() {
  return "threads = 1\n[flow]\nfamily = \"realnvp\"\nlayers = 4\nhidden = 32\n[energy]\nhidden = 32\n"
         "[train]\nsteps = 150\nbatch_size = 128\nflow_samples = 64\nlog_every = 50\neval_every = 150\n"
         "checkpoint_every = 150\n[eval]\nlog_z_samples = 4000\nmmd_samples = 200\n";
}

std::string tiny_study(const std::string& data_path) {
  return "seed = 0\n[data]\nsource = \"fashion-mnist\"\npath = \"" + data_path +
         "\"\nmax_train = 2000\nmax_test = 400\n"
         "[autoencoder]\nlatent_dims = [4]\nwidth = 8\nepochs = 2\n"
         "[classifier]\nepochs = 1\nfeatures = 32\n"
         "[evaluation]\nsamples = 300\nk = 3\nlangevin_steps = 3\nlangevin_step_size = 1e-3\ngrid = 4\n"
         "[latent]\nbase = \"base.toml\"\nseeds = [0]\n"
         "[[latent.arm]]\nname = \"mle\"\nset = ['method.name=\"mle-flow\"']\n"
         "[[latent.arm]]\nname = \"joint\"\nset = ['method.name=\"jeffreys\"']\n";
}

std::string error_of(const std::string& path) {
  try {
    je::load_image_study(path);
  } catch (const je::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ImageStudyFile, ErrorsNameFileLineAndKey) {
  auto d = fresh_dir("errors");
  write(d / "base.toml", base_config());
  const auto good = tiny_study(kFashion);
  auto check = [&](const std::string& name, const std::string& text, const std::string& expect) {
    const auto p = write(d / name, text);
    const auto e = error_of(p);
    EXPECT_NE(e.find(p), std::string::npos) << e;
    EXPECT_NE(e.find(expect), std::string::npos) << "expected '" << expect << "' in: " << e;
  };
  check("unknown.toml", good + "[extra]\n", "'extra': unknown key");
  check("range.toml", "[data]\nrange = \"bytes\"\n", ":2: key 'data.range': must be unit");
  check("epochs.toml", "[autoencoder]\nepochs = 0\n", ":2: key 'autoencoder.epochs': must be >= 1");
  check("dims.toml", "[autoencoder]\nlatent_dims = [16]\n[latent]\nbase = \"base.toml\"\nlatent_dims = [32]\n"
        "[[latent.arm]]\nname = \"a\"\n", "32 is not in autoencoder.latent_dims");
  check("arm.toml", "[latent]\nbase = \"base.toml\"\n[[latent.arm]]\nname = \"a\"\nset = ['flow.layers=0']\n",
        "flow.layers");
  check("n_train.toml", "[latent]\nbase = \"base.toml\"\nn_train = [1000, 1000]\n[[latent.arm]]\nname = \"a\"\n",
        ":3: key 'latent.n_train': sizes must be >= 2 (0: every code) and each given once");
  check("base.toml.missing", "[latent]\nbase = \"nowhere.toml\"\n", "nowhere.toml' not found");
  check("png.toml", "[data]\nsource = \"png-folder\"\npath = \".\"\n[classifier]\nepochs = 1\n", "needs labelled images");
}

TEST(ImageStudyFile, CommittedSmallDataStudyPlansSubsetsOfTheCodes) {
  if (!fs::is_directory(kFashion)) GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed (make test installs it)";
  const auto c = je::load_image_study(std::string(JEFFREYS_SOURCE_DIR) + "/experiments/fashion_mnist/small_data.toml");
  EXPECT_EQ(c.latent.n_train, (std::vector<int64_t>{1000, 5000}));
  EXPECT_EQ(c.latent.latent_dims, (std::vector<int64_t>{32}));
  EXPECT_EQ(c.latent.seeds.size(), 3u);
  std::set<std::string> arms;
  for (const auto& a : c.latent.arms) arms.insert(a.name);
  EXPECT_EQ(arms, (std::set<std::string>{"mle-flow", "jeffreys", "jeffreys-F10", "paper", "paper-H", "paper-H-W0.1",
                                         "paper-H-T"}));
}

TEST(ImageStudy, TinyStudyEndToEnd) {
  if (!fs::exists(kFashion + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed (make test installs it)";
  auto d = fresh_dir("tiny");
  write(d / "base.toml", base_config());
  // Every code (0) and a random subset of 500 of the 2000 (the small-data regime).
  auto text = tiny_study(kFashion);
  text.insert(text.find("seeds = [0]\n"), "n_train = [0, 500]\n");
  auto cfg = je::load_image_study(write(d / "study.toml", text));
  je::ImageStudyOptions o;
  o.executable = JEFFREYS_EXE;
  const auto out = (d / "out").string();
  ASSERT_EQ(je::run_image_study(cfg, out, o), 0);
  for (const char* f : {"results.csv", "results.md", "samples_d4.png", "samplers_d4.png", "grids/joint_d4_proxy.png",
                        "samples_d4_n500.png", "grids/joint_d4_n500_proxy.png", "runs/mle__d4__n500__s0/grid_flow.png",
                        "autoencoder_d4/model.pt",
                        "autoencoder_d4/latents_train.csv", "autoencoder_d4/reconstructions.png", "classifier/model.pt",
                        "runs/joint__d4__s0/grid_flow.png", "runs/joint__d4__s0/grid_proxy.png",
                        "runs/joint__d4__s0/grid_langevin.png", "runs/mle__d4__s0/grid_flow.png"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  // The codes the latent runs trained on: 2000 z-scored rows of 4 columns plus a header.
  {
    std::ifstream in(out + "/autoencoder_d4/latents_train.csv");
    std::string line;
    int rows = 0;
    while (std::getline(in, line)) ++rows;
    EXPECT_EQ(rows, 2001);
  }
  std::ifstream in(out + "/results.csv");
  std::string header, line;
  std::getline(in, header);
  EXPECT_EQ(header,
            "method,seed,latent_dim,n_train,sampler,fid,precision,recall,latent_test_nll,latent_test_nll_proxy,"
            "train_seconds,classifier");
  int rows = 0;
  std::set<std::string> samplers, classifiers;
  while (std::getline(in, line)) {
    ++rows;
    std::stringstream s(line);
    std::vector<std::string> f;
    for (std::string x; std::getline(s, x, ',');) f.push_back(x);
    ASSERT_EQ(f.size(), 12u) << line;
    samplers.insert(f[0] + "/" + f[4] + "/" + f[3]);
    classifiers.insert(f[11]);
    const double fid = std::stod(f[5]), p = std::stod(f[6]), r = std::stod(f[7]), nll = std::stod(f[8]);
    EXPECT_TRUE(std::isfinite(fid) && fid > 0) << line;
    EXPECT_TRUE(p >= 0 && p <= 1 && r >= 0 && r <= 1) << line;
    EXPECT_TRUE(std::isfinite(nll)) << line;
  }
  EXPECT_EQ(rows, 8);  // per training-set size, mle: flow; joint: flow, proxy, langevin
  // Every score names the one classifier that made it (CRC-32 of its weights).
  ASSERT_EQ(classifiers.size(), 1u);
  const std::string fingerprint = *classifiers.begin();
  EXPECT_EQ(fingerprint.size(), 8u);
  EXPECT_EQ(samplers, (std::set<std::string>{"mle/flow/2000", "joint/flow/2000", "joint/proxy/2000", "joint/langevin/2000",
                                             "mle/flow/500", "joint/flow/500", "joint/proxy/500", "joint/langevin/500"}));
  // The subset runs train on data.subset = 500 (drawn with the run's seed: tests/data/test_split.cpp).
  EXPECT_EQ(je::load_config(out + "/runs/mle__d4__n500__s0/config.toml").data.subset, 500);
  EXPECT_EQ(je::load_config(out + "/runs/mle__d4__s0/config.toml").data.subset, 0);
  {
    std::ifstream md(out + "/results.md");
    const std::string report((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
    EXPECT_NE(report.find("## Latent size 4, 2000 training codes"), std::string::npos) << report;
    EXPECT_NE(report.find("## Latent size 4, a random subset of 500 training codes"), std::string::npos) << report;
  }
  // A second call finds everything finished and only rewrites the report.
  const auto t0 = fs::last_write_time(out + "/runs/mle__d4__n500__s0/image_eval.json");
  ASSERT_EQ(je::run_image_study(cfg, out, o), 0);
  EXPECT_EQ(fs::last_write_time(out + "/runs/mle__d4__n500__s0/image_eval.json"), t0);
  // Scores by another classifier are redone (same samples, this classifier), the others left alone.
  {
    const auto eval_file = out + "/runs/mle__d4__s0/image_eval.json";
    std::ifstream in_eval(eval_file);
    auto eval = nlohmann::json::parse(in_eval);
    in_eval.close();
    const double fid = eval["flow"]["fid"].get<double>();
    eval["classifier"] = "0badc1a5";
    eval["flow"]["fid"] = 999.0;
    std::ofstream(eval_file) << eval.dump(2);
    ASSERT_EQ(je::run_image_study(cfg, out, o), 0);
    std::ifstream again(eval_file);
    const auto redone = nlohmann::json::parse(again);
    EXPECT_EQ(redone["classifier"], fingerprint);
    EXPECT_DOUBLE_EQ(redone["flow"]["fid"].get<double>(), fid);
    EXPECT_EQ(fs::last_write_time(out + "/runs/mle__d4__n500__s0/image_eval.json"), t0);
  }

  // A run the study no longer plans keeps its rows. A clone has results.csv, results.md,
  // references.json and the figures, not the run folders or the models: a planned run recorded in
  // results.csv whose folder is not here counts as finished (not trained again), its rows are kept,
  // and the figures it drew are not redrawn without it.
  auto file_text = [&](const std::string& f) {
    std::ifstream t(out + "/" + f);
    return std::string((std::istreambuf_iterator<char>(t)), std::istreambuf_iterator<char>());
  };
  const std::string other = "other,0,4,2000,flow,1.0000,0.5000,0.5000,1.0000,nan,1.0," + fingerprint + "\n";
  std::ofstream(out + "/results.csv", std::ios::app) << other;
  je::report_image_study(cfg, out);
  const auto csv = file_text("results.csv"), md = file_text("results.md");
  EXPECT_EQ(csv.substr(csv.size() - other.size()), other);
  EXPECT_NE(md.find("Feature classifier test accuracy"), std::string::npos) << md;
  EXPECT_NE(md.find("| train-images (reference) |"), std::string::npos) << md;
  ASSERT_TRUE(fs::exists(out + "/references.json"));
  const auto figure = fs::last_write_time(out + "/samples_d4_n500.png");
  const auto clone = (d / "clone").string();
  fs::create_directories(clone);
  for (const char* f : {"results.csv", "results.md", "references.json", "samples_d4_n500.png"})
    fs::copy_file(out + "/" + f, clone + "/" + f);
  je::report_image_study(cfg, clone);
  EXPECT_EQ(file_text("results.csv"), csv);
  {
    std::ifstream t(clone + "/results.csv"), m(clone + "/results.md");
    EXPECT_EQ(std::string((std::istreambuf_iterator<char>(t)), std::istreambuf_iterator<char>()), csv);
    EXPECT_EQ(std::string((std::istreambuf_iterator<char>(m)), std::istreambuf_iterator<char>()), md);
  }
  // In the study folder itself, one run's folder away: the study trains nothing, keeps its rows and
  // the figure of its cell.
  fs::rename(out + "/runs/mle__d4__n500__s0", out + "/away");
  ASSERT_EQ(je::run_image_study(cfg, out, o), 0);
  EXPECT_FALSE(fs::exists(out + "/runs/mle__d4__n500__s0"));
  EXPECT_EQ(file_text("results.csv"), csv);
  EXPECT_EQ(file_text("results.md"), md);
  EXPECT_EQ(fs::last_write_time(out + "/samples_d4_n500.png"), figure);
  // A recorded row that is not a number is an error naming the file, row and column.
  {
    auto bad = csv;
    const auto at = bad.find("mle,0,4,500,flow,");
    ASSERT_NE(at, std::string::npos) << bad;
    bad.replace(at, std::string("mle,0,4,500,flow,").size(), "mle,0,4,500,flow,x");
    std::ofstream(out + "/results.csv") << bad;
    try {
      je::report_image_study(cfg, out);
      ADD_FAILURE() << "a recorded row that is not a number was read";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(out + "/results.csv: row "), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("column 'fid'"), std::string::npos) << e.what();
    }
    std::ofstream(out + "/results.csv") << csv;
  }
  // A recorded row scored by another classifier (here, one from before the study kept which) is
  // neither re-scored (its folder is away) nor averaged with this classifier's rows: its own line.
  {
    auto older = csv;
    const std::string row_start = "mle,0,4,500,flow,";
    const auto at = older.find(row_start);
    const auto end = older.find('\n', at);
    const auto comma = older.rfind(',', end);
    older.replace(comma + 1, end - comma - 1, "unrecorded");
    std::ofstream(out + "/results.csv") << older;
    je::report_image_study(cfg, out);
    const auto report = file_text("results.md");
    EXPECT_NE(report.find("| mle | flow (classifier unrecorded) |"), std::string::npos) << report;
    EXPECT_NE(report.find("kept apart, not averaged"), std::string::npos) << report;
    EXPECT_EQ(report.find("| mle | flow |", report.find("a random subset of 500")), std::string::npos) << report;
    std::ofstream(out + "/results.csv") << csv;
  }
  fs::rename(out + "/away", out + "/runs/mle__d4__n500__s0");
  je::report_image_study(cfg, out);
  EXPECT_EQ(file_text("results.csv"), csv);
}

TEST(ImageStudy, PngFolderWithoutLabelsGivesGridsAndNllButNoFid) {
  auto d = fresh_dir("png");
  const auto images = d / "images";
  fs::create_directories(images);
  // 40 RGB 8×8 images: a bright square at one of four places on a dark background.
  for (int i = 0; i < 40; ++i) {
    jeffreys::plot::Image im(8, 8, {10, 10, 10});
    const int x0 = (i % 2) * 4, y0 = ((i / 2) % 2) * 4;
    im.fill_rect(x0, y0, x0 + 4, y0 + 4, {200, static_cast<uint8_t>(50 + 4 * i), 90});
    jeffreys::plot::save_png(im, (images / ("img" + std::to_string(100 + i) + ".png")).string());
  }
  write(d / "base.toml", base_config());
  auto cfg = je::load_image_study(write(d / "study.toml",
                                        "[data]\nsource = \"png-folder\"\npath = \"images\"\nrange = \"symmetric\"\n"
                                        "test_fraction = 0.25\n[autoencoder]\nlatent_dims = [2]\nwidth = 4\nepochs = 2\n"
                                        "[evaluation]\nsamples = 10\ngrid = 2\nlangevin_steps = 2\n"
                                        "[latent]\nbase = \"base.toml\"\nseeds = [0]\n"
                                        "[[latent.arm]]\nname = \"joint\"\nset = ['method.name=\"jeffreys\"']\n"));
  EXPECT_FALSE(cfg.has_classifier);
  je::ImageStudyOptions o;
  o.executable = JEFFREYS_EXE;
  const auto out = (d / "out").string();
  ASSERT_EQ(je::run_image_study(cfg, out, o), 0);
  EXPECT_FALSE(fs::exists(out + "/classifier"));
  for (const char* s : {"flow", "proxy", "langevin"})
    EXPECT_TRUE(fs::exists(out + "/runs/joint__d2__s0/grid_" + std::string(s) + ".png")) << s;
  EXPECT_TRUE(fs::exists(out + "/samples_d2.png"));
  std::ifstream in(out + "/results.csv");
  std::string line;
  std::getline(in, line);
  int rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    std::stringstream s(line);
    std::vector<std::string> f;
    for (std::string x; std::getline(s, x, ',');) f.push_back(x);
    ASSERT_EQ(f.size(), 11u) << line;
    EXPECT_EQ(f[5], "nan") << line;  // no labels, no feature classifier, no FID
    EXPECT_TRUE(std::isfinite(std::stod(f[8]))) << line;
  }
  EXPECT_EQ(rows, 3);
}

#ifdef JEFFREYS_EXE
TEST(ImageStudy, AStudyKilledDuringItsLatentRunsContinuesWithNoRunLostOrRunTwice) {
  if (!fs::exists(kFashion + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed (make test installs it)";
  auto d = fresh_dir("killed");
  // Latent runs long enough to be caught between their checkpoint and their end.
  std::string base = base_config();
  base.replace(base.find("steps = 150"), 11, "steps = 600");
  base.replace(base.find("eval_every = 150"), 16, "eval_every = 600");
  base.replace(base.find("checkpoint_every = 150"), 22, "checkpoint_every = 50");
  write(d / "base.toml", base);
  const auto file = write(d / "study.toml", tiny_study(kFashion));
  const auto out = (d / "out").string();
  ASSERT_TRUE(jtest::run_and_kill_when({JEFFREYS_EXE, "image-study", "--config", file, "--out", out, "--jobs", "2"},
                                       [&] { return jtest::any_run_has(out + "/runs", "checkpoint.pt"); }))
      << "no latent run reached a checkpoint";
  EXPECT_FALSE(jtest::orphans_remain(out + "/runs/")) << "runs of the killed study are still training";
  const auto ae_time = fs::last_write_time(out + "/autoencoder_d4/model.pt");
  const auto classifier_time = fs::last_write_time(out + "/classifier/model.pt");

  je::ImageStudyOptions o;
  o.executable = JEFFREYS_EXE;
  ASSERT_EQ(je::run_image_study(je::load_image_study(file), out, o), 0);
  // The autoencoder and the classifier had finished: kept, not trained again.
  EXPECT_EQ(fs::last_write_time(out + "/autoencoder_d4/model.pt"), ae_time);
  EXPECT_EQ(fs::last_write_time(out + "/classifier/model.pt"), classifier_time);
  // Every latent run complete, with each logged step once and in order, and the report whole.
  for (const char* run : {"mle__d4__s0", "joint__d4__s0"}) {
    std::ifstream m(out + "/runs/" + run + "/metrics.csv");
    std::string line;
    std::getline(m, line);
    double last = 0;
    while (std::getline(m, line)) {
      const double step = std::stod(line.substr(0, line.find(',')));
      EXPECT_GT(step, last) << run << ": " << line;
      last = step;
    }
    EXPECT_EQ(last, 600) << run;
  }
  std::ifstream in(out + "/results.csv");
  int rows = -1;
  for (std::string line; std::getline(in, line);) ++rows;
  EXPECT_EQ(rows, 4);
  fs::remove_all(d);
}
#endif
