// jeffreys: train, sample, evaluate and plot Jeffreys-divergence models from the command line.
#include <iostream>

#include "commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return jeffreys::cli::run(args, std::cout, std::cerr);
}
