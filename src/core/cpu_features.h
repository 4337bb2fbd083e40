#pragma once
// Which vector instruction set the running CPU has, for the few hand-written kernels that
// dispatch on it (the CPU's own features, read once).
namespace jeffreys::core {

enum class SimdLevel { baseline = 0, avx2 = 1, avx512 = 2 };

inline SimdLevel simd_level() {
  static const SimdLevel level = __builtin_cpu_supports("avx512f") ? SimdLevel::avx512
                                 : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? SimdLevel::avx2
                                                                                                    : SimdLevel::baseline;
  return level;
}

}  // namespace jeffreys::core

// Defines NAME(args) that runs BODY_FN(args) compiled for the best available instruction set;
// BODY_FN must be an always_inline function so that each copy is vectorised for its target.
#define JEFFREYS_SIMD_DISPATCH(NAME, BODY_FN, PARAMS, ARGS)                                           \
  __attribute__((target("avx512f"))) static void NAME##_avx512 PARAMS { BODY_FN ARGS; }             \
  __attribute__((target("avx2,fma"))) static void NAME##_avx2 PARAMS { BODY_FN ARGS; }              \
  static void NAME##_baseline PARAMS { BODY_FN ARGS; }                                              \
  static void NAME PARAMS {                                                                         \
    switch (::jeffreys::core::simd_level()) {                                                       \
      case ::jeffreys::core::SimdLevel::avx512: NAME##_avx512 ARGS; break;                          \
      case ::jeffreys::core::SimdLevel::avx2: NAME##_avx2 ARGS; break;                              \
      default: NAME##_baseline ARGS; break;                                                         \
    }                                                                                               \
  }
