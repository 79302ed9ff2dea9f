// Implements paged_attention.h: a CPU kernel (float, bfloat16 or float16 pools, float arithmetic) that walks each
// token's page table, and for other devices the same result from ATen ops over gathered pages.
#include "core/paged_attention.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/TensorIndexing.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "core/gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include "core/simd_exp.h"
#define REXRAG_PAGED_AVX512 1
#endif

namespace rexrag {
namespace {

constexpr int64_t P = KVPages::kPageTokens;

int64_t pages_seen(int64_t position) { return position / P + 1; }

// ---- Any device: ATen ops ----

void write_indexed(const at::Tensor& k, const at::Tensor& v, at::Tensor& keys, at::Tensor& values,
                   const PackedTokens& tokens) {
  using at::indexing::Slice;
  std::vector<int64_t> pages(tokens.size()), offsets(tokens.size());
  for (int64_t t = 0; t < tokens.size(); ++t) {
    pages[t] = KVPages::page_of(*tokens.tables[t], tokens.positions[t]);
    offsets[t] = tokens.positions[t] % P;
  }
  const at::Tensor page = at::tensor(pages, at::kLong).to(keys.device());
  const at::Tensor offset = at::tensor(offsets, at::kLong).to(keys.device());
  keys.index_put_({page, Slice(), Slice(), offset}, k.to(keys.scalar_type()));      // k (N, nKV, D)
  values.index_put_({page, Slice(), offset}, v.to(values.scalar_type()));           // v (N, nKV, D)
}

/// Gathers every token's pages into (N, nKV, D, S) keys and (N, nKV, S, D) values, masks the positions past
/// each token's own, then two matmuls.
at::Tensor attend_gathered(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                           const PackedTokens& tokens) {
  const int64_t N = q.size(0), heads = q.size(1), D = q.size(2), kv_heads = keys.size(1);
  const int64_t most = pages_seen(*std::max_element(tokens.positions.begin(), tokens.positions.end()));
  const int64_t S = most * P;
  std::vector<int64_t> pages(N * most);
  std::vector<uint8_t> hidden(N * S);
  for (int64_t t = 0; t < N; ++t) {
    const std::vector<int32_t>& table = *tokens.tables[t];
    for (int64_t i = 0; i < most; ++i) pages[t * most + i] = i < pages_seen(tokens.positions[t]) ? table[i] : table[0];
    for (int64_t s = 0; s < S; ++s) hidden[t * S + s] = s > tokens.positions[t] ? 1 : 0;
  }
  const at::Tensor index = at::tensor(pages, at::kLong).to(q.device());
  const at::Tensor masked = at::tensor(hidden, at::kByte).to(q.device()).to(at::kBool).view({N, 1, 1, S});
  const at::Tensor k = keys.index_select(0, index).view({N, most, kv_heads, D, P}).permute({0, 2, 3, 1, 4})
                           .reshape({N, kv_heads, D, S});
  const at::Tensor v = values.index_select(0, index).view({N, most, kv_heads, P, D}).permute({0, 2, 1, 3, 4})
                           .reshape({N, kv_heads, S, D});
  const at::Tensor grouped = q.reshape({N, kv_heads, heads / kv_heads, D});  // (N, nKV, g, D)
  at::Tensor scores = at::matmul(grouped, k.to(q.scalar_type())) / std::sqrt(static_cast<double>(D));
  scores = scores.masked_fill(masked, -INFINITY);
  const at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  return at::matmul(probs, v.to(q.scalar_type())).reshape({N, heads * D});
}

// ---- CPU kernel ----

template <typename scalar_t>
void write_cpu(const at::Tensor& k, const at::Tensor& v, at::Tensor& keys, at::Tensor& values,
               const PackedTokens& tokens) {
  const int64_t kv_heads = k.size(1), D = k.size(2);
  const scalar_t* kp = k.data_ptr<scalar_t>();
  const scalar_t* vp = v.data_ptr<scalar_t>();
  scalar_t* key_pool = keys.data_ptr<scalar_t>();
  scalar_t* value_pool = values.data_ptr<scalar_t>();
  for (int64_t t = 0; t < tokens.size(); ++t) {
    const int64_t page = KVPages::page_of(*tokens.tables[t], tokens.positions[t]), offset = tokens.positions[t] % P;
    for (int64_t g = 0; g < kv_heads; ++g) {
      const scalar_t* key = kp + (t * kv_heads + g) * D;
      scalar_t* column = key_pool + (page * kv_heads + g) * D * P + offset;
      for (int64_t d = 0; d < D; ++d) column[d * P] = key[d];
      std::memcpy(value_pool + ((page * kv_heads + g) * P + offset) * D, vp + (t * kv_heads + g) * D, D * sizeof(scalar_t));
    }
  }
}

/// scores[i] = Σ_d keys[d · P + i] · q[d] for the P keys of a page.
void page_scores_plain(const float* keys, const float* q, int64_t D, float* scores) {
  std::fill(scores, scores + P, 0.0f);
  for (int64_t d = 0; d < D; ++d) {
    for (int64_t i = 0; i < P; ++i) scores[i] += keys[d * P + i] * q[d];
  }
}

/// out[d] += Σ_{s < n} probs[s] · values[s · D + d]
void page_values_plain(const float* values, const float* probs, int64_t n, int64_t D, float* out) {
  for (int64_t s = 0; s < n; ++s) {
    for (int64_t d = 0; d < D; ++d) out[d] += probs[s] * values[s * D + d];
  }
}

#ifdef REXRAG_PAGED_AVX512
static_assert(P == 16, "the AVX-512 page loops hold one page's scores in one register");

__attribute__((target("avx512f"))) void page_scores_avx512(const float* keys, const float* q, int64_t D, float* scores) {
  // Four accumulators: independent chains of multiply-adds, so the loop is not bound by their latency.
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  int64_t d = 0;
  for (; d + 4 <= D; d += 4) {
    for (int j = 0; j < 4; ++j) {
      acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(keys + (d + j) * P), _mm512_set1_ps(q[d + j]), acc[j]);
    }
  }
  for (; d < D; ++d) acc[0] = _mm512_fmadd_ps(_mm512_loadu_ps(keys + d * P), _mm512_set1_ps(q[d]), acc[0]);
  _mm512_storeu_ps(scores, _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

/// D = 16·V: the output stays in registers across the page's keys, even and odd keys in separate chains.
template <int V>
__attribute__((target("avx512f"))) void page_values_avx512(const float* values, const float* probs, int64_t n,
                                                            int64_t D, float* out) {
  __m512 even[V], odd[V];
  for (int c = 0; c < V; ++c) {
    even[c] = _mm512_loadu_ps(out + 16 * c);
    odd[c] = _mm512_setzero_ps();
  }
  int64_t s = 0;
  for (; s + 2 <= n; s += 2) {
    const __m512 p0 = _mm512_set1_ps(probs[s]), p1 = _mm512_set1_ps(probs[s + 1]);
    for (int c = 0; c < V; ++c) {
      even[c] = _mm512_fmadd_ps(p0, _mm512_loadu_ps(values + s * D + 16 * c), even[c]);
      odd[c] = _mm512_fmadd_ps(p1, _mm512_loadu_ps(values + (s + 1) * D + 16 * c), odd[c]);
    }
  }
  if (s < n) {
    const __m512 p0 = _mm512_set1_ps(probs[s]);
    for (int c = 0; c < V; ++c) even[c] = _mm512_fmadd_ps(p0, _mm512_loadu_ps(values + s * D + 16 * c), even[c]);
  }
  for (int c = 0; c < V; ++c) _mm512_storeu_ps(out + 16 * c, _mm512_add_ps(even[c], odd[c]));
}

/// Any D a multiple of 16: 16 dimensions at a time.
__attribute__((target("avx512f"))) void page_values_wide_avx512(const float* values, const float* probs, int64_t n,
                                                                 int64_t D, float* out) {
  for (int64_t c = 0; c < D; c += 16) page_values_avx512<1>(values + c, probs, n, D, out + c);
}

/// The scores row[0, n) scaled, then turned into probabilities.
__attribute__((target("avx512f"))) void softmax_avx512(float* row, int64_t n, float scale) {
  const __m512 factor = _mm512_set1_ps(scale);
  __m512 top = _mm512_set1_ps(-INFINITY);
  for (int64_t s = 0; s < n; s += 16) {
    const __mmask16 in = first_lanes(n - s);
    const __m512 x = _mm512_mul_ps(_mm512_maskz_loadu_ps(in, row + s), factor);
    _mm512_mask_storeu_ps(row + s, in, x);
    top = _mm512_mask_max_ps(top, in, top, x);
  }
  const __m512 shift = _mm512_set1_ps(_mm512_reduce_max_ps(top));
  __m512 sums = _mm512_setzero_ps();
  for (int64_t s = 0; s < n; s += 16) {
    const __mmask16 in = first_lanes(n - s);
    const __m512 e = _mm512_maskz_mov_ps(in, exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(in, row + s), shift)));
    _mm512_mask_storeu_ps(row + s, in, e);
    sums = _mm512_add_ps(sums, e);
  }
  const __m512 inverse = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sums));
  for (int64_t s = 0; s < n; s += 16) {
    const __mmask16 in = first_lanes(n - s);
    _mm512_mask_storeu_ps(row + s, in, _mm512_mul_ps(_mm512_maskz_loadu_ps(in, row + s), inverse));
  }
}
#endif

/// The scores row[0, n) scaled, then turned into probabilities.
void softmax_plain(float* row, int64_t n, float scale) {
  float top = -INFINITY;
  for (int64_t s = 0; s < n; ++s) top = std::max(top, row[s] *= scale);
  float total = 0;
  for (int64_t s = 0; s < n; ++s) total += row[s] = std::exp(row[s] - top);
  const float inverse = 1.0f / total;
  for (int64_t s = 0; s < n; ++s) row[s] *= inverse;
}

struct PageOps {
  void (*scores)(const float*, const float*, int64_t, float*) = page_scores_plain;
  void (*values)(const float*, const float*, int64_t, int64_t, float*) = page_values_plain;
  void (*softmax)(float*, int64_t, float) = softmax_plain;
};

PageOps page_ops(int64_t D) {
  PageOps ops;
#ifdef REXRAG_PAGED_AVX512
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (!avx512) return ops;
  ops.scores = page_scores_avx512;
  ops.softmax = softmax_avx512;
  switch (D) {
    case 16: ops.values = page_values_avx512<1>; break;
    case 32: ops.values = page_values_avx512<2>; break;
    case 48: ops.values = page_values_avx512<3>; break;
    case 64: ops.values = page_values_avx512<4>; break;
    default: if (D % 16 == 0) ops.values = page_values_wide_avx512;
  }
#endif
  return ops;
}

/// A page's n values as floats: the pool itself when it holds floats, else converted into `buffer`.
template <typename scalar_t>
const float* as_float(const scalar_t* values, int64_t n, std::vector<float>& buffer) {
  if constexpr (std::is_same_v<scalar_t, float>) {
    return values;
  } else {
    for (int64_t i = 0; i < n; ++i) buffer[i] = static_cast<float>(values[i]);
    return buffer.data();
  }
}

template <typename scalar_t>
void attend_cpu(const float* q, float* out, const at::Tensor& keys, const at::Tensor& values, int64_t heads,
                const PackedTokens& tokens) {
  const int64_t N = tokens.size(), kv_heads = keys.size(1), D = keys.size(2), group = heads / kv_heads;
  const scalar_t* key_pool = keys.data_ptr<scalar_t>();
  const scalar_t* value_pool = values.data_ptr<scalar_t>();
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const PageOps ops = page_ops(D);
  const int64_t most = pages_seen(*std::max_element(tokens.positions.begin(), tokens.positions.end()));
  // One task per (token, kv head): each page is read once for all the query heads that share it.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, most * P * heads * D));
  at::parallel_for(0, N * kv_heads, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(group * most * P), page(P * D);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t t = task / kv_heads, g = task % kv_heads, seen = tokens.positions[t] + 1;
      const std::vector<int32_t>& table = *tokens.tables[t];
      const int64_t pages = pages_seen(tokens.positions[t]), stride = pages * P;
      const float* query = q + (t * heads + g * group) * D;
      float* result = out + (t * heads + g * group) * D;
      for (int64_t i = 0; i < pages; ++i) {
        const float* k = as_float(key_pool + (table[i] * kv_heads + g) * D * P, D * P, page);
        for (int64_t j = 0; j < group; ++j) ops.scores(k, query + j * D, D, scores.data() + j * stride + i * P);
      }
      for (int64_t j = 0; j < group; ++j) {
        ops.softmax(scores.data() + j * stride, seen, scale);
        std::fill(result + j * D, result + (j + 1) * D, 0.0f);
      }
      for (int64_t i = 0; i < pages; ++i) {
        const int64_t n = std::min(P, seen - i * P);
        const float* v = as_float(value_pool + (table[i] * kv_heads + g) * P * D, n * D, page);
        for (int64_t j = 0; j < group; ++j) ops.values(v, scores.data() + j * stride + i * P, n, D, result + j * D);
      }
    }
  });
}

}  // namespace

at::Tensor paged_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, KVPages& cache, int64_t layer,
                           const PackedTokens& tokens) {
  at::Tensor& keys = cache.keys(layer);
  at::Tensor& values = cache.values(layer);
  const int64_t N = q.size(0), heads = q.size(1), D = q.size(2), kv_heads = k.size(1);
  TORCH_CHECK(tokens.size() == N && k.size(0) == N && heads % kv_heads == 0 && keys.size(2) == D,
              "paged_attention: shapes disagree");
  if (!q.device().is_cpu() || aten_kernels_requested()) {
    write_indexed(k, v, keys, values, tokens);
    return attend_gathered(q, keys, values, tokens);
  }
  const at::Tensor kc = k.to(keys.scalar_type()).contiguous(), vc = v.to(values.scalar_type()).contiguous();
  const at::Tensor q32 = q.to(at::kFloat).contiguous();
  at::Tensor out = at::empty({N, heads * D}, q32.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, keys.scalar_type(), "paged_attention", [&] {
    write_cpu<scalar_t>(kc, vc, keys, values, tokens);
    attend_cpu<scalar_t>(q32.data_ptr<float>(), out.data_ptr<float>(), keys, values, heads, tokens);
  });
  return out.to(q.scalar_type());
}

}  // namespace rexrag
