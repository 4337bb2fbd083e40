#include "jeffreys/core/threads.h"

#include <dlfcn.h>
#include <torch/torch.h>

namespace jeffreys {
namespace {
using SetThreads = void (*)(int);
/// `name` in the loaded OpenBLAS, or null. Looked up at run time: Debian's LibTorch reaches OpenBLAS
/// through the libblas.so.3 alternative. A process that loaded LibTorch with RTLD_LOCAL (Python's
/// import) hides it from dlsym(RTLD_DEFAULT), so the loaded library is also asked for by name.
void* openblas_symbol(const char* name) {
  if (void* fn = dlsym(RTLD_DEFAULT, name)) return fn;
  for (const char* lib_name : {"libopenblas.so.0", "libblas.so.3"}) {
    if (void* lib = dlopen(lib_name, RTLD_NOW | RTLD_NOLOAD)) {
      void* fn = dlsym(lib, name);
      dlclose(lib);  // only drops the reference RTLD_NOLOAD took; the library stays loaded
      if (fn) return fn;
    }
  }
  return nullptr;
}

SetThreads openblas_setter() {
  static SetThreads fn = reinterpret_cast<SetThreads>(openblas_symbol("openblas_set_num_threads"));
  return fn;
}
}  // namespace

void set_num_threads(int threads) {
  TORCH_CHECK(threads >= 1, "set_num_threads: threads must be >= 1, got ", threads);
  torch::set_num_threads(threads);
  if (auto fn = openblas_setter()) fn(threads);
}

bool openblas_loaded() { return openblas_setter() != nullptr; }

int openblas_num_threads() {
  static auto fn = reinterpret_cast<int (*)()>(openblas_symbol("openblas_get_num_threads"));
  return fn ? fn() : -1;
}

}  // namespace jeffreys
