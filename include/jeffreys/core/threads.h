#pragma once
/// Thread settings for LibTorch and for OpenBLAS, whose own pool LibTorch's setting does not reach.
namespace jeffreys {

/// Sets LibTorch's intra-op threads and, when the BLAS in use is OpenBLAS, its pool too.
/// One thread was fastest for the small networks of this library (see README, Speed).
void set_num_threads(int threads);

/// Whether OpenBLAS's thread control was found in the loaded BLAS.
bool openblas_loaded();

/// OpenBLAS's thread count, or -1 when OpenBLAS is not the BLAS in use.
int openblas_num_threads();

}  // namespace jeffreys
