#include "jeffreys/core/allocator.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace jeffreys {

void keep_freed_memory() {
#if defined(__GLIBC__)
  // Activations of 256 x 128 floats are exactly 128 KiB, glibc's default mmap threshold: every one
  // would be a fresh mmap, page faults included.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
#endif
}

}  // namespace jeffreys
