// jeffreys image-study: autoencoder, feature classifier, then every latent method x seed, and the report.
#include "app/studies/image_study.h"
#include "command.h"
#include "sweep_flags.h"

namespace jeffreys::cli {
namespace {

class ImageStudy : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    auto* c = app.add_subcommand("image-study",
                                 "autoencoder, classifier, then every latent method x seed: FID, precision, recall");
    flags_.add_to(c, "image study file (see experiments/fashion_mnist/)", "study folder: autoencoder_d<k>/, classifier/, runs/, results",
                  "only rewrite results.csv, results.md and figures");
    return c;
  }
  int run(std::ostream& out, std::ostream& err) override {
    auto cfg = app::load_image_study(flags_.config);
    if (flags_.report_only) return flags_.print_written(app::report_image_study(cfg, flags_.out_dir), out);
    const auto o = flags_.options(err);
    const auto failed = app::run_image_study(cfg, flags_.out_dir, o);
    out << "results: " << flags_.out_dir << "/results.csv, " << flags_.out_dir << "/results.md, " << flags_.out_dir << "/samples_d<k>.png\n";
    return flags_.exit_code(failed, err);
  }

 private:
  SweepFlags flags_;
};

}  // namespace

std::unique_ptr<Command> image_study_command() { return std::make_unique<ImageStudy>(); }

}  // namespace jeffreys::cli
