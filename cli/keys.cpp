// jeffreys keys: every configuration key with its default and meaning (the README's table).
#include "app/config/schema.h"
#include "command.h"

namespace jeffreys::cli {
namespace {

class Keys : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    return app.add_subcommand("keys", "list every configuration key with its default and meaning (markdown)");
  }
  int run(std::ostream& out, std::ostream&) override {
    out << app::config_keys_markdown();
    return 0;
  }
};

}  // namespace

std::unique_ptr<Command> keys_command() { return std::make_unique<Keys>(); }

}  // namespace jeffreys::cli
