#include "jeffreys/core/threads.h"

#include <dlfcn.h>
#include <torch/torch.h>

namespace jeffreys {
namespace {
using SetThreads = void (*)(int);
SetThreads openblas_setter() {
  // Looked up at run time: Debian's LibTorch reaches OpenBLAS through the libblas.so.3 alternative.
  static SetThreads fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  return fn;
}
}  // namespace

void set_num_threads(int threads) {
  TORCH_CHECK(threads >= 1, "set_num_threads: threads must be >= 1, got ", threads);
  torch::set_num_threads(threads);
  if (auto fn = openblas_setter()) fn(threads);
}

bool openblas_loaded() { return openblas_setter() != nullptr; }

}  // namespace jeffreys
