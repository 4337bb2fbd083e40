// jeffreys autoencode: the convolutional autoencoder of an image study, with its latent codes.
#include <iomanip>

#include "app/studies/image_study.h"
#include "command.h"

namespace jeffreys::cli {
namespace {

class Autoencode : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    auto* c = app.add_subcommand("autoencode", "train the convolutional autoencoder of an image study");
    c->add_option("--config", config_, "image study file (see experiments/fashion_mnist/)")->required();
    c->add_option("--out", out_dir_, "folder to create: model, codes, reconstructions, metrics")->required();
    c->add_option("--latent-dim", latent_dim_, "latent size (default: the first of autoencoder.latent_dims)")
        ->check(CLI::Range(int64_t{2}, int64_t{4096}));
    return c;
  }
  int run(std::ostream& out, std::ostream& err) override {
    auto cfg = app::load_image_study(config_);
    auto r = app::autoencode_run(cfg, latent_dim_ > 0 ? latent_dim_ : cfg.autoencoder.latent_dims.front(), out_dir_,
                                 &err);
    out << "autoencoder (latent size " << r.latent_dim << "): test MSE per pixel " << std::setprecision(5) << r.test_mse
        << " in " << std::fixed << std::setprecision(0) << r.seconds << " s\nfolder: " << out_dir_
        << " (model.pt, latents_train.csv, latents_test.csv, reconstructions.png, metrics.csv, summary.json)\n";
    return 0;
  }

 private:
  std::string config_, out_dir_;
  int64_t latent_dim_ = 0;
};

}  // namespace

std::unique_ptr<Command> autoencode_command() { return std::make_unique<Autoencode>(); }

}  // namespace jeffreys::cli
