// exp over 16 floats with AVX-512, for the kernels' softmax and SiLU loops (libm's expf is scalar: one call per
// value). Include only where __x86_64__ and GCC hold; callers pick it at run time with __builtin_cpu_supports.
#pragma once

#include <immintrin.h>

namespace rexrag {

/// exp(x) as 2^n · e^r with n = round(x / ln 2) and r = x − n ln 2 (ln 2 in two parts, Cody and Waite), e^r by its
/// Taylor series to r⁷ (|r| ≤ 0.35: truncation below 6e-9, about 1 ulp in all). Inputs are clamped to
/// [-104, 88.7]: below that the result is 0 (or a denormal), above it the largest finite powers.
__attribute__((target("avx512f"))) inline __m512 exp_avx512(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(88.7f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040);
  for (const float c : {1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f}) {
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
  }
  return _mm512_scalef_ps(p, n);
}

/// Lanes [0, count) of 16 (count ≥ 1; all 16 when count ≥ 16).
__attribute__((target("avx512f"))) inline __mmask16 first_lanes(int64_t count) {
  return count >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << count) - 1);
}

}  // namespace rexrag
