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
#include <immintrin.h>
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
  // Two accumulators: the even and odd dimensions' products form independent chains.
  __m512 even = _mm512_setzero_ps(), odd = _mm512_setzero_ps();
  int64_t d = 0;
  for (; d + 2 <= D; d += 2) {
    even = _mm512_fmadd_ps(_mm512_loadu_ps(keys + d * P), _mm512_set1_ps(q[d]), even);
    odd = _mm512_fmadd_ps(_mm512_loadu_ps(keys + (d + 1) * P), _mm512_set1_ps(q[d + 1]), odd);
  }
  if (d < D) even = _mm512_fmadd_ps(_mm512_loadu_ps(keys + d * P), _mm512_set1_ps(q[d]), even);
  _mm512_storeu_ps(scores, _mm512_add_ps(even, odd));
}

/// D a multiple of 16: the output stays in registers, 16 dimensions at a time, across the page's keys.
__attribute__((target("avx512f"))) void page_values_avx512(const float* values, const float* probs, int64_t n,
                                                            int64_t D, float* out) {
  for (int64_t c = 0; c < D; c += 16) {
    __m512 acc = _mm512_loadu_ps(out + c);
    for (int64_t s = 0; s < n; ++s) acc = _mm512_fmadd_ps(_mm512_set1_ps(probs[s]), _mm512_loadu_ps(values + s * D + c), acc);
    _mm512_storeu_ps(out + c, acc);
  }
}
#endif

struct PageOps {
  void (*scores)(const float*, const float*, int64_t, float*) = page_scores_plain;
  void (*values)(const float*, const float*, int64_t, int64_t, float*) = page_values_plain;
};

PageOps page_ops(int64_t D) {
  PageOps ops;
#ifdef REXRAG_PAGED_AVX512
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512) ops.scores = page_scores_avx512;
  if (avx512 && D % 16 == 0) ops.values = page_values_avx512;
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
        float* head = scores.data() + j * stride;
        float top = -INFINITY;
        for (int64_t s = 0; s < seen; ++s) top = std::max(top, head[s] *= scale);
        float total = 0;
        for (int64_t s = 0; s < seen; ++s) total += head[s] = std::exp(head[s] - top);
        const float inverse = 1.0f / total;
        for (int64_t s = 0; s < seen; ++s) head[s] *= inverse;
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
