#pragma once
// Float vectors for the hand-written kernels (GCC vector extensions, so one body serves AVX-512,
// AVX2 and SSE): loads, stores, exp and log, and the macro that compiles a body once per instruction
// set and dispatches on the running CPU. Only for files compiled without LibTorch's headers and with
// -fno-math-errno (see CMakeLists.txt).
#include <cstdint>
#include <cstring>

#include "cpu_features.h"

// The vector helpers below are always inlined into functions compiled for their instruction set, so
// the ABI note GCC gives for passing vectors by value does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace jeffreys::core {

typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

template <typename VF>
__attribute__((always_inline)) inline VF load(const float* p) {
  VF v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <typename VF>
__attribute__((always_inline)) inline void store(float* p, VF v) {
  std::memcpy(p, &v, sizeof(v));
}

template <typename VF>
__attribute__((always_inline)) inline float sum_lanes(VF v) {
  float s = 0;
  for (size_t j = 0; j < sizeof(VF) / sizeof(float); ++j) s += v[j];
  return s;
}

// e^a on a vector of floats: Cephes' expf, range reduction by ln 2 in two parts, a degree-6 polynomial and the exponent written into
// the float's bits; relative error about 1e-7. a is clamped to [-87, 88] (no infinities, no denormals).
template <typename VF, typename VI>
__attribute__((always_inline)) inline VF exp_vector(VF a) {
  a = a < -87.0f ? -87.0f : a;
  a = a > 88.0f ? 88.0f : a;
  // n = round(a log2 e) by adding 1.5 * 2^23: the sum's low mantissa bits hold n, in two additions
  // instead of a truncation and its correction.
  const VF shifted = a * 1.44269504088896341f + 12582912.0f;
  const VI n = (VI)shifted - 0x4B400000;
  const VF fn = shifted - 12582912.0f;
  VF r = a - fn * 0.693359375f;
  r = r + fn * 2.12194440e-4f;
  VF p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const VI bits = (n + 127) << 23;
  return p * (VF)bits;
}

// log x for x > 0, normal and finite, on a vector of floats: Cephes' logf (x = m 2^e with m in
// [sqrt(1/2), sqrt(2)), a degree-8 polynomial in m - 1, ln 2 in two parts); absolute error about 1e-7.
template <typename VF, typename VI>
__attribute__((always_inline)) inline VF log_vector(VF x) {
  const VI bits = (VI)x;
  VI e = ((bits >> 23) & 0xff) - 126;
  VF m = (VF)((bits & 0x807fffff) | 0x3f000000);  // in [0.5, 1)
  const VI small = m < 0.707106781186547524f;
  e += small;  // small is -1 where true
  m = small ? m + m - 1.0f : m - 1.0f;
  const VF fe = __builtin_convertvector(e, VF);
  const VF z = m * m;
  VF y = m * 7.0376836292e-2f - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  y += fe * -2.12194440e-4f;
  y -= 0.5f * z;
  return m + y + fe * 0.693359375f;
}

}  // namespace jeffreys::core

// Defines NAME(PARAMS): BODY<float vector, int vector> compiled for AVX-512, AVX2 or SSE, whichever
// the running CPU has (BODY always_inline, so each copy is vectorised for its own target).
#define JEFFREYS_VECTOR_DISPATCH(NAME, BODY, PARAMS, ARGS)                                   \
  namespace {                                                                               \
  __attribute__((target("avx512f"))) void NAME##_avx512 PARAMS {                            \
    BODY<::jeffreys::core::v16f, ::jeffreys::core::v16i> ARGS;                              \
  }                                                                                         \
  __attribute__((target("avx2,fma"))) void NAME##_avx2 PARAMS {                             \
    BODY<::jeffreys::core::v8f, ::jeffreys::core::v8i> ARGS;                                \
  }                                                                                         \
  void NAME##_sse PARAMS { BODY<::jeffreys::core::v4f, ::jeffreys::core::v4i> ARGS; }       \
  }                                                                                         \
  void NAME PARAMS {                                                                        \
    switch (::jeffreys::core::simd_level()) {                                               \
      case ::jeffreys::core::SimdLevel::avx512: NAME##_avx512 ARGS; break;                  \
      case ::jeffreys::core::SimdLevel::avx2: NAME##_avx2 ARGS; break;                      \
      default: NAME##_sse ARGS; break;                                                      \
    }                                                                                       \
  }
