// Implements vector_ops.h.
#include "core/vector_ops.h"

namespace rexrag {
namespace {

float dot_plain(const float* a, const float* b, int64_t n) {
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void axpy_plain(float* out, float scale, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] += scale * x[i];
}

#ifdef REXRAG_VECTOR_AVX2
__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  float sum = _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

__attribute__((target("avx2,fma"))) void axpy_avx2(float* out, float scale, const float* x, int64_t n) {
  const __m256 s = _mm256_set1_ps(scale);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_fmadd_ps(s, _mm256_loadu_ps(x + i), _mm256_loadu_ps(out + i)));
  for (; i < n; ++i) out[i] += scale * x[i];
}
#endif

}  // namespace

VectorOps vector_ops() {
#ifdef REXRAG_VECTOR_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2) return {dot_avx2, axpy_avx2};
#endif
  return {dot_plain, axpy_plain};
}

}  // namespace rexrag
