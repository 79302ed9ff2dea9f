// Implements row_ops.h. Rows are independent, so the loops split over rows; below a few thousand values a
// loop runs on the calling thread.
#include "core/row_ops.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "core/gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include "core/simd_exp.h"
#define REXRAG_ROW_OPS_AVX512 1
#endif

namespace rexrag {
namespace {

constexpr int64_t kValuesPerTask = 1 << 14;

int64_t row_grain(int64_t row_size) { return std::max<int64_t>(1, kValuesPerTask / std::max<int64_t>(1, row_size)); }

}  // namespace

bool row_ops_apply(const std::vector<at::Tensor>& tensors) {
  if (aten_kernels_requested()) return false;
  for (const at::Tensor& t : tensors) {
    if (!t.device().is_cpu() || t.scalar_type() != at::kFloat || !t.is_contiguous()) return false;
  }
  return true;
}

void rotate_in_place(at::Tensor& x, const std::vector<int64_t>& positions, const at::Tensor& inv_freq) {
  const int64_t N = x.size(0), heads = x.size(1), D = x.size(2), half = D / 2;
  float* data = x.data_ptr<float>();
  const float* freq = inv_freq.data_ptr<float>();
  at::parallel_for(0, N, row_grain(heads * D), [&](int64_t begin, int64_t end) {
    std::vector<float> cos(half), sin(half);
    for (int64_t t = begin; t < end; ++t) {
      const auto position = static_cast<float>(positions[t]);
      for (int64_t i = 0; i < half; ++i) {
        const float angle = position * freq[i];
        cos[i] = std::cos(angle);
        sin[i] = std::sin(angle);
      }
      for (int64_t h = 0; h < heads; ++h) {
        float* v = data + (t * heads + h) * D;
        for (int64_t i = 0; i < half; ++i) {
          const float a = v[i], b = v[i + half];
          v[i] = a * cos[i] - b * sin[i];
          v[i + half] = b * cos[i] + a * sin[i];
        }
      }
    }
  });
}

namespace {

void silu_mul_plain(float* g, const float* u, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

#ifdef REXRAG_ROW_OPS_AVX512
__attribute__((target("avx512f"))) void silu_mul_avx512(float* g, const float* u, int64_t begin, int64_t end) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = begin; i < end; i += 16) {
    const __mmask16 in = first_lanes(end - i);
    const __m512 x = _mm512_maskz_loadu_ps(in, g + i);
    const __m512 silu = _mm512_div_ps(x, _mm512_add_ps(one, exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
    _mm512_mask_storeu_ps(g + i, in, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(in, u + i)));
  }
}
#endif

}  // namespace

void silu_mul_in_place(at::Tensor& gate, const at::Tensor& up) {
  const int64_t n = gate.numel();
  float* g = gate.data_ptr<float>();
  const float* u = up.data_ptr<float>();
  auto loop = silu_mul_plain;
#ifdef REXRAG_ROW_OPS_AVX512
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512) loop = silu_mul_avx512;
#endif
  at::parallel_for(0, n, kValuesPerTask, [&](int64_t begin, int64_t end) { loop(g, u, begin, end); });
}

}  // namespace rexrag
