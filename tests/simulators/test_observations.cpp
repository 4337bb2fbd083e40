// Reading sbibm observation folders: sbibm's own files (headers of names, LaTeX names included) read
// to the exact values they hold, from any directory; and broken copies in a temporary folder
// rejected with a DataError naming the file and what is wrong.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "jeffreys/simulators/observations.h"
#include "jeffreys/simulators/task.h"
#include "simulators/sbibm_files.h"

namespace sim = jeffreys::simulators;
namespace fs = std::filesystem;

namespace {

void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected a DataError";
  } catch (const jeffreys::data::DataError& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << " lacks " << p;
  }
}

class ObservationCopies : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jeffreys_obs_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    // A copy of two_moons/obs_1, the smallest, to break in different ways.
    obs_ = dir_ / "obs_3";
    fs::create_directories(obs_);
    for (const char* f : {"observation.csv", "true_parameters.csv", "reference_posterior_samples.csv.gz"})
      fs::copy_file(fs::path(sbibm_files::obs_folder("two_moons", 1)) / f, obs_ / f);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& content) { std::ofstream(obs_ / name) << content; }

  fs::path dir_, obs_;
};

}  // namespace

TEST(Observations, ReadSbibmFilesExactly) {
  SKIP_WITHOUT_SBIBM();
  const auto o = sbibm_files::read("two_moons", 1);
  ASSERT_EQ(o.observation.sizes(), (at::IntArrayRef{1, 2}));
  ASSERT_EQ(o.true_parameters.sizes(), (at::IntArrayRef{1, 2}));
  ASSERT_EQ(o.reference_posterior_samples.sizes(), (at::IntArrayRef{10000, 2}));
  EXPECT_EQ(o.observation.scalar_type(), torch::kDouble);
  // The first numbers of each file, as float32 (the precision sbibm wrote them in).
  EXPECT_EQ(o.observation[0][0].item<double>(), static_cast<double>(-0.6396706f));
  EXPECT_EQ(o.observation[0][1].item<double>(), static_cast<double>(0.16234657f));
  EXPECT_EQ(o.true_parameters[0][0].item<double>(), static_cast<double>(-0.8176656f));
  EXPECT_EQ(o.reference_posterior_samples[0][1].item<double>(), static_cast<double>(-0.5836492f));

  // Headers of LaTeX names ($\alpha$, ...) are headers too.
  const auto lv = sbibm_files::read("lotka_volterra", 1);
  EXPECT_EQ(lv.true_parameters.sizes(), (at::IntArrayRef{1, 4}));
  EXPECT_EQ(lv.true_parameters[0][0].item<double>(), static_cast<double>(0.6859157f));
  EXPECT_EQ(lv.observation.sizes(), (at::IntArrayRef{1, 20}));

  for (const auto& name : sim::task_names())
    EXPECT_EQ(sim::observation_numbers(sbibm_files::task_folder(name)), (std::vector<int>{1, 2, 3, 4, 5})) << name;
}

TEST_F(ObservationCopies, ReadFromAnyFolderAndCheckedAgainstTheTask) {
  SKIP_WITHOUT_SBIBM();
  const auto o = sim::read_observation(obs_.string(), *sim::make_task("two_moons"));
  EXPECT_EQ(o.folder, obs_.string());
  EXPECT_EQ(o.reference_posterior_samples.size(0), 10000);
  EXPECT_EQ(sim::observation_numbers(dir_.string()), std::vector<int>{3});
  EXPECT_EQ(sim::observation_folder(dir_.string(), 3), obs_.string());

  // The same files are the wrong width for another task; the message names the file and both widths.
  expect_error([&] { sim::read_observation(obs_.string(), *sim::make_task("slcp")); },
               {"observation.csv", "2 columns", "slcp", "8"});
}

TEST_F(ObservationCopies, BrokenFoldersNameTheFile) {
  SKIP_WITHOUT_SBIBM();
  expect_error([&] { sim::read_observation((dir_ / "obs_9").string()); }, {"obs_9", "not found"});
  expect_error([&] { sim::observation_numbers((dir_ / "nowhere").string()); }, {"nowhere", "not found"});
  fs::create_directories(dir_ / "empty");
  expect_error([&] { sim::observation_numbers((dir_ / "empty").string()); }, {"empty", "no obs_<k>"});

  fs::remove(obs_ / "true_parameters.csv");
  expect_error([&] { sim::read_observation(obs_.string()); }, {"true_parameters.csv", "not found"});
  write("true_parameters.csv", "parameter_1,parameter_2\n0.1,0.2\n0.3,0.4\n");
  expect_error([&] { sim::read_observation(obs_.string()); }, {"true_parameters.csv", "one data row, found 2"});
  write("true_parameters.csv", "parameter_1,parameter_2,parameter_3\n0.1,0.2,0.3\n");
  expect_error([&] { sim::read_observation(obs_.string()); }, {"reference_posterior_samples.csv", "2 columns", "3"});
  write("true_parameters.csv", "parameter_1,parameter_2\n0.1,0.2\n");
  write("observation.csv", "data_1,data_2\n0.1,oops\n");
  expect_error([&] { sim::read_observation(obs_.string()); }, {"observation.csv:2", "column 2", "oops"});
  write("observation.csv", "data_1,data_2\n");
  expect_error([&] { sim::read_observation(obs_.string()); }, {"observation.csv", "no data rows"});
}
