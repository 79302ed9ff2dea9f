// Implements attention_kernel.h. The dot products and the value sums run 8 floats at a time where the CPU has
// AVX2 and FMA (a plain loop elsewhere); a masked key is skipped, so a causal prefill does half the work.
#include "core/attention_kernel.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define REXRAG_ATTENTION_AVX2 1
#endif

namespace rexrag {
namespace {

constexpr float kMaskedBelow = -1e29f;  // the callers' additive mask uses -1e30
constexpr int64_t kMaxQueries = 4;      // queries per row up to which the fused pass is used

float dot_plain(const float* a, const float* b, int64_t n) {
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void axpy_plain(float* out, float scale, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] += scale * x[i];
}

#ifdef REXRAG_ATTENTION_AVX2
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

bool has_avx2() {
  static const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return supported;
}
#endif

struct VectorOps {
  float (*dot)(const float*, const float*, int64_t) = dot_plain;
  void (*axpy)(float*, float, const float*, int64_t) = axpy_plain;
};

VectorOps vector_ops() {
  VectorOps ops;
#ifdef REXRAG_ATTENTION_AVX2
  if (has_avx2()) ops = {dot_avx2, axpy_avx2};
#endif
  return ops;
}

}  // namespace

bool fused_attention_applies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  static const bool switched_off = aten_kernels_requested();
  if (switched_off) return false;
  // Few queries per row (decoding): one pass wins. Long prefills and scoring do better on BLAS's batched
  // products, whose blocking amortises the packing that a single query cannot.
  if (q.dim() != 4 || q.size(2) > kMaxQueries) return false;
  for (const at::Tensor* t : {&q, &k, &v}) {
    if (!t->device().is_cpu() || t->scalar_type() != at::kFloat || t->dim() != 4 || t->stride(3) != 1) return false;
  }
  return !(at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad()));
}

at::Tensor fused_attention(const at::Tensor& q_in, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias_in) {
  const at::Tensor q = q_in.contiguous();
  const at::Tensor bias = bias_in.to(at::kFloat).contiguous();
  const int64_t B = q.size(0), heads = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t kv_heads = k.size(1), S = k.size(2), group = heads / kv_heads;
  TORCH_CHECK(bias.numel() == B * T * S, "attention mask has ", bias.numel(), " entries, expected ", B * T * S);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  at::Tensor out = at::empty({B, T, heads, D}, q.options());
  const float* qp = q.data_ptr<float>();
  const float* kp = k.data_ptr<float>();
  const float* vp = v.data_ptr<float>();
  const float* bp = bias.data_ptr<float>();
  float* op = out.data_ptr<float>();
  const int64_t kb = k.stride(0), kh = k.stride(1), ks = k.stride(2);
  const int64_t vb = v.stride(0), vh = v.stride(1), vs = v.stride(2);
  const VectorOps ops = vector_ops();
  // Each (row, head) pair is one task: its queries, keys and values stay in cache while it runs.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(1, T * S * D));
  at::parallel_for(0, B * heads, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(S);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / heads, h = task % heads, g = h / group;
      const float* keys = kp + b * kb + g * kh;
      const float* values = vp + b * vb + g * vh;
      for (int64_t t = 0; t < T; ++t) {
        const float* query = qp + ((b * heads + h) * T + t) * D;
        const float* mask = bp + (b * T + t) * S;
        float* result = op + ((b * T + t) * heads + h) * D;
        float top = -INFINITY;
        for (int64_t s = 0; s < S; ++s) {
          if (mask[s] <= kMaskedBelow) continue;
          scores[s] = ops.dot(query, keys + s * ks, D) * scale + mask[s];
          top = std::max(top, scores[s]);
        }
        const bool none_allowed = top == -INFINITY;
        float total = 0;
        std::fill(result, result + D, 0.0f);
        for (int64_t s = 0; s < S; ++s) {
          if (mask[s] <= kMaskedBelow && !none_allowed) continue;
          const float p = none_allowed ? 1.0f : std::exp(scores[s] - top);
          total += p;
          ops.axpy(result, p, values + s * vs, D);
        }
        const float inverse = 1.0f / total;
        for (int64_t d = 0; d < D; ++d) result[d] *= inverse;
      }
    }
  });
  return out.view({B, T, heads * D});
}

}  // namespace rexrag
