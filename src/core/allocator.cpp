#include "jeffreys/core/allocator.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace jeffreys {

void keep_freed_memory() {
#if defined(__GLIBC__)
  // Activations of 256 x 128 floats are exactly 128 KiB, glibc's default mmap threshold: every one
  // would be a fresh mmap, page faults included. The SBI joint step's tensors reach ~100 MiB (16
  // flow samples for each of 9,000 contexts); below 512 MiB they are reused from the heap, which
  // measured 8% faster there (farm-bench, gaussian_linear at 10^4, 2 epochs) at the same peak memory.
  mallopt(M_MMAP_THRESHOLD, 512 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
#endif
}

}  // namespace jeffreys
